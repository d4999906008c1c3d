/**
 * The extension's stable identity. The public key pins the Chrome extension id, which the native
 * host's manifest allows (allowed_origins) and which names the extension's IndexedDB: changing it
 * would strand every stored message. The id is the first 32 hex digits of sha256(key DER), 0–f
 * mapped to a–p (test/extension-identity.test.ts checks that it matches).
 */
export const EXTENSION_PUBLIC_KEY =
  'MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAuryE4ELhjVOSS1magMh91lr5XBdoVoHJsC7zF/6ThmVElIUuvm2Rfer3glvmiqMg5PYlsva3Amio8D1WM3Mkesw59Hs3P95EVTcfb6cOglW4yP9oKO+NALYFlbPz6RZ8OWg3z/0/uV2PxyrynN9gpCbzwrU0ytDTvBMDg9vgnXWO3rITvD0U9O7QUUlzS4qyhslq6VizEEOl9dlwVb8WxihsmXGFa4Oi0m1hQFWUU2bBOu87Km0/XLq4roog7kdiicsv6MkSPz5zj79SkuzKz2hV6P8URj70S5oRgI812WDYnK5cr8nSm9QIYSaXSjjN1cxP+3SywMwAVde50qTeBQIDAQAB';

export const EXTENSION_ID = 'dpikelegiphdenlcdnaaomhooehcfaoj';

/** Firefox identifies add-ons by this id instead of a key. */
export const FIREFOX_ADDON_ID = 'switchboard@switchboard.dev';
