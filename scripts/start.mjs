// `npm start`: installs the native host (for every browser found, and Switchboard's own profile),
// then opens Chromium with the freshly built extension on that profile (.profiles/default, made
// fresh the first time; `npm start -- --fresh` starts it over). Without a display it starts the
// host daemon by itself — so the local API runs — and says how to load the extension instead.
import { existsSync, mkdirSync, openSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { spawn, spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';

const extension = resolve('.output/chrome-mv3');
const profile = resolve('.profiles/default');
const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/snap/bin/chromium'].filter(Boolean);
const browser = candidates.find((path) => existsSync(path));
const hasDisplay = Boolean(process.env.DISPLAY || process.env.WAYLAND_DISPLAY) || process.platform === 'darwin' || process.platform === 'win32';

const howToLoad = `Load it by hand in Chrome, Edge, Brave or Chromium:
  1. open chrome://extensions and turn on Developer mode
  2. choose "Load unpacked" and pick ${extension}
The extension id is always dpikelegiphdenlcdnaaomhooehcfaoj.`;

if (process.argv.includes('--fresh')) rmSync(profile, { recursive: true, force: true });
mkdirSync(profile, { recursive: true });

// The host: registered with the local browsers and this profile. Installing again changes nothing.
const cli = (...args) => spawnSync(process.execPath, ['bin/switchboard.mjs', ...args], { stdio: 'inherit' }).status;
if (cli('host', 'install', '--profile', profile) !== 0) {
  console.log('The native host could not be installed (see above); the extension runs without it.');
}

if (!hasDisplay || !browser) {
  // No browser will start the daemon: start it now, in the background (it exits at once if one runs).
  const home = process.env.SWITCHBOARD_HOME || join(homedir(), '.switchboard');
  const log = openSync(join(home, 'daemon.log'), 'a');
  spawn(process.execPath, [join(home, 'host', 'daemon.mjs')], { stdio: ['ignore', log, log], detached: true }).unref();
  await new Promise((r) => setTimeout(r, 1_000));
  cli('status');
  console.log(`The host daemon runs in the background: its local API is up (\`node bin/switchboard.mjs status\`; the token is in ${join(home, 'token')}).`);
  console.log(`Switchboard is built at ${extension}.`);
  console.log(!browser ? 'No Chromium found (set CHROMIUM_PATH to use another).' : 'There is no display to open a browser on.');
  console.log(howToLoad);
  process.exit(0);
}

const args = [
  `--user-data-dir=${profile}`,
  `--disable-extensions-except=${extension}`,
  `--load-extension=${extension}`,
  '--no-first-run',
];
// Chromium refuses to run as root without it.
if (process.getuid?.() === 0) args.unshift('--no-sandbox');
console.log(
  `Starting ${browser} with Switchboard (profile ${profile}). On a fresh profile it opens its diagnostics page; ` +
    'the Switchboard icon in the toolbar (the puzzle piece lists it) opens the popup.',
);
spawn(browser, args, { stdio: 'ignore', detached: true }).unref();
