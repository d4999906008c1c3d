import { runClaudeTab } from '../src/adapters/claude-ai/content';

// claude.ai conversations as agents (issue 6); all page knowledge is in src/adapters/claude-ai/site.ts.
export default defineContentScript({
  matches: ['https://claude.ai/*'],
  runAt: 'document_idle',
  main: (ctx) => runClaudeTab(ctx.signal),
});
