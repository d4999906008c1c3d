// `npm start`: opens Chromium with the freshly built extension on Switchboard's own profile
// (.profiles/default, made fresh the first time; `npm start -- --fresh` starts it over). Without a
// display, it says where the built extension is and how to load it instead.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

const extension = resolve('.output/chrome-mv3');
const profile = resolve('.profiles/default');
const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/snap/bin/chromium'].filter(Boolean);
const browser = candidates.find((path) => existsSync(path));
const hasDisplay = Boolean(process.env.DISPLAY || process.env.WAYLAND_DISPLAY) || process.platform === 'darwin' || process.platform === 'win32';

const howToLoad = `Load it by hand in Chrome, Edge, Brave or Chromium:
  1. open chrome://extensions and turn on Developer mode
  2. choose "Load unpacked" and pick ${extension}
The extension id is always dpikelegiphdenlcdnaaomhooehcfaoj.`;

if (!hasDisplay || !browser) {
  console.log(`Switchboard is built at ${extension}.`);
  console.log(!browser ? 'No Chromium found (set CHROMIUM_PATH to use another).' : 'There is no display to open a browser on.');
  console.log(howToLoad);
  process.exit(0);
}

if (process.argv.includes('--fresh')) rmSync(profile, { recursive: true, force: true });
mkdirSync(profile, { recursive: true });
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
