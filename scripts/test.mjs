// `npm test`: every test, in the order that fails fastest — build (extension and host), typecheck,
// then vitest (unit, host, and end-to-end in a real Chromium). Ends with a plain "tests: N passed, N failed" line.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const run = (command, args) => {
  const { status } = spawnSync(command, args, { stdio: 'inherit' });
  if (status !== 0) process.exit(status ?? 1);
};

run('node', ['scripts/ensure-chromium.mjs']);
run('npx', ['wxt', 'build']);
run('node', ['native-host/build.mjs']);
run('npx', ['tsc', '--noEmit']);

const dir = mkdtempSync(join(tmpdir(), 'switchboard-test-'));
const report = join(dir, 'report.json');
const { status } = spawnSync('npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...process.argv.slice(2)], {
  stdio: 'inherit',
});
try {
  const { numPassedTests, numFailedTests, numPendingTests, numTodoTests } = JSON.parse(readFileSync(report, 'utf8'));
  console.log(`tests: ${numPassedTests} passed, ${numFailedTests} failed, ${numPendingTests + numTodoTests} skipped`);
} catch {
  console.log('tests: 0 passed, 1 failed (vitest wrote no report)');
  process.exit(status || 1);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exit(status ?? 1);
