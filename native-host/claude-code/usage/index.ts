/** The usage monitor's pure parts (issue 5, "Usage monitor"); the daemon wires them to files, the hub and webhooks. */
export * from './transcript-line';
export * from './transcript-reader';
export * from './cursor-store';
export * from './prices';
export * from './blocks';
export * from './limits';
export * from './alerts';
export * from './session-limits';
export * from './alert-history';
