// `npm run build:host`: bundles the native host's entry points into dist/native-host/<entry>.mjs,
// one self-contained file each, so `switchboard host install` can copy them into ~/.switchboard/host
// and the browser can start the shim without this checkout or its node_modules.
//
//   node native-host/build.mjs [--outdir <folder>]
//
// Bundles, by output name: shim.mjs (the browser launches it), daemon.mjs from daemon-main.ts (the
// daemon in the foreground; the shim spawns the daemon.mjs beside it, detached), cli.mjs (the
// `switchboard` command). An entry whose source is missing is skipped with a note, so the CLI can
// be built before the daemon exists.
import { build } from 'esbuild';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** output name → source in native-host/ */
const ENTRIES = { shim: 'shim.ts', daemon: 'daemon-main.ts', cli: 'cli.ts', mcp: 'mcp-main.ts' };

const { values } = parseArgs({ options: { outdir: { type: 'string' } } });
const outdir = resolve(values.outdir ?? join(root, 'dist', 'native-host'));
mkdirSync(outdir, { recursive: true });

const present = Object.keys(ENTRIES).filter((entry) => existsSync(join(root, 'native-host', ENTRIES[entry])));
for (const [entry, source] of Object.entries(ENTRIES).filter(([entry]) => !present.includes(entry))) {
  console.error(`build:host: native-host/${source} does not exist yet; ${entry}.mjs skipped`);
}
if (present.length === 0) {
  console.error('build:host: nothing to build');
  process.exit(1);
}

await build({
  entryPoints: Object.fromEntries(present.map((entry) => [entry, join(root, 'native-host', ENTRIES[entry])])),
  outdir,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  // Each entry on its own: the installed copy is three files, not a tree of shared chunks.
  splitting: false,
  // ws loads these native speed-ups only if installed; it works without them.
  external: ['bufferutil', 'utf-8-validate'],
  // CommonJS dependencies bundled into ESM call `require` (for Node built-ins); ESM has none, so
  // make one. The odd name keeps it from clashing with anything in the bundle.
  banner: {
    js: "import { createRequire as __switchboardCreateRequire } from 'node:module'; const require = __switchboardCreateRequire(import.meta.url);",
  },
  legalComments: 'none',
  logLevel: 'warning',
});

for (const entry of present) console.log(`build:host: ${join(outdir, `${entry}.mjs`)}`);
