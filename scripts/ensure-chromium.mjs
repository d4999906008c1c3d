// Makes sure what the end-to-end tests run is there: Debian's `chromium`, and `curl` (Claude Code's
// hook scripts post with it), installed with apt-get when missing and we are root. Never downloads
// a browser from anywhere else.
import { existsSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';

const path = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const hasCurl = spawnSync('curl', ['--version'], { stdio: 'ignore' }).status === 0;
const missing = [...(existsSync(path) ? [] : ['chromium']), ...(hasCurl ? [] : ['curl'])];
if (missing.length === 0) process.exit(0);

if (process.env.CHROMIUM_PATH && !existsSync(path)) {
  console.error(`CHROMIUM_PATH is set to ${path}, but there is no such file.`);
  process.exit(1);
}
const isRoot = process.getuid?.() === 0;
const hasApt = existsSync('/usr/bin/apt-get');
if (!isRoot || !hasApt) {
  console.error(
    `The end-to-end tests need ${missing.join(' and ')} (Chromium at /usr/bin/chromium, or set CHROMIUM_PATH).\n` +
      `On Debian or Ubuntu: sudo apt-get update && sudo apt-get install -y ${missing.join(' ')}`,
  );
  process.exit(1);
}
console.log(`Installing Debian's ${missing.join(' and ')} for the end-to-end tests…`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
execFileSync('apt-get', ['update'], { stdio: 'inherit', env });
execFileSync('apt-get', ['install', '-y', ...missing], { stdio: 'inherit', env });
