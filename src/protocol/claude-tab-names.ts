/** The port's name, and the message a starting hub sends every claude.ai tab so it connects. */
export const CLAUDE_TAB_PORT = 'switchboard/claude-ai';
export const RECONNECT_REQUEST = 'switchboard/claude-ai/connect';
