// Makes sure a Chromium is there for the end-to-end tests: Debian's `chromium`, installed with
// apt-get when missing and we are root. Never downloads a browser from anywhere else.
import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

const path = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
if (existsSync(path)) process.exit(0);

if (process.env.CHROMIUM_PATH) {
  console.error(`CHROMIUM_PATH is set to ${path}, but there is no such file.`);
  process.exit(1);
}
const isRoot = process.getuid?.() === 0;
const hasApt = existsSync('/usr/bin/apt-get');
if (!isRoot || !hasApt) {
  console.error(
    'The end-to-end tests need Chromium at /usr/bin/chromium (or set CHROMIUM_PATH).\n' +
      'On Debian or Ubuntu: sudo apt-get update && sudo apt-get install -y chromium',
  );
  process.exit(1);
}
console.log('Installing Debian\'s chromium for the end-to-end tests…');
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
execFileSync('apt-get', ['update'], { stdio: 'inherit', env });
execFileSync('apt-get', ['install', '-y', 'chromium'], { stdio: 'inherit', env });
