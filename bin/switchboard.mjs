#!/usr/bin/env node
// The `switchboard` command from this checkout: runs the bundled CLI, dist/native-host/cli.mjs
// (`npm run build:host`). The bundle, not the TypeScript, so it behaves exactly as the installed
// copy in ~/.switchboard/host does.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'native-host', 'cli.mjs');
if (!existsSync(cli)) {
  process.stderr.write(`switchboard: ${cli} is not built yet: run \`npm run build:host\` first\n`);
  process.exit(1);
}
const { main } = await import(pathToFileURL(cli).href);
await main(process.argv.slice(2));
