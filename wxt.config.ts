import { fileURLToPath } from 'node:url';
import { defineConfig } from 'wxt';
import preact from '@preact/preset-vite';
import { EXTENSION_PUBLIC_KEY, FIREFOX_ADDON_ID } from './src/extension-identity';

export default defineConfig({
  // WXT's `browser` is the webextension-polyfill again (ARCHITECTURE.md, "Packages").
  modules: ['@wxt-dev/webextension-polyfill'],
  vite: () => ({
    plugins: [preact()],
    resolve: {
      alias: [
        // The Markdown parser's entity decoder has a browser build that decodes through innerHTML on
        // a detached element; its table-based build does the same without touching HTML (web-ext lint).
        { find: /^decode-named-character-reference$/, replacement: fileURLToPath(new URL('./node_modules/decode-named-character-reference/index.js', import.meta.url)) },
      ],
    },
  }),
  manifest: ({ browser }) => ({
    name: 'Switchboard',
    description: "Connects your Claude agents — claude.ai tabs, Claude Desktop and Claude Code — and delivers every message.",
    // nativeMessaging: the hub reaches the host daemon (native-host/) through connectNative.
    permissions: ['alarms', 'storage', 'unlimitedStorage', 'nativeMessaging'],
    // claude.ai: the hub finds the conversations already open when it starts (tabs.query by URL).
    host_permissions: ['https://claude.ai/*'],
    ...(browser === 'firefox'
      ? {
          browser_specific_settings: {
            // Switchboard sends nothing to its developers or third parties: messages go only between
            // the person's own agents and devices.
            // 140 (the ESR) and 142 on Android are the first to read data_collection_permissions.
            gecko: { id: FIREFOX_ADDON_ID, strict_min_version: '140.0', data_collection_permissions: { required: ['none'] } },
            gecko_android: { strict_min_version: '142.0' },
          },
        }
      : { key: EXTENSION_PUBLIC_KEY, minimum_chrome_version: '116' }),
  }),
});
