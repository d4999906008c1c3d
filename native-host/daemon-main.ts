/**
 * The daemon as a process: what the shim starts in the background and `switchboard daemon` runs in
 * the foreground. Logs go to stderr (the shim points it at daemon.log).
 */
import { defaultHome } from './config';
import { AlreadyRunning, startDaemon } from './daemon';

// A daemon that dies takes the API with it until a browser starts it again: a stray rejection is
// logged, not fatal. (An uncaught exception still ends it: its state may be broken.)
process.on('unhandledRejection', (reason) => process.stderr.write(`${new Date().toISOString()} unhandled rejection: ${(reason as Error)?.stack ?? reason}\n`));

async function main(): Promise<void> {
  let daemon;
  try {
    daemon = await startDaemon({ home: defaultHome() });
  } catch (error) {
    if (error instanceof AlreadyRunning) {
      process.stderr.write(`${error.message}; this one exits\n`);
      return;
    }
    process.stderr.write(`Switchboard daemon failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
    return;
  }
  const stop = async (signal: string) => {
    process.stderr.write(`${signal}: stopping\n`);
    await daemon.stop();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

void main();
