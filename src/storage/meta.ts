import type { SwitchboardDb } from './db';

/** Adds one to the persisted count of service-worker starts and returns it. */
export function countWorkerStart(db: SwitchboardDb): Promise<number> {
  return db.transaction('rw', db.meta, async () => {
    const current = (await db.meta.get('workerStarts'))?.value;
    const starts = (typeof current === 'number' ? current : 0) + 1;
    await db.meta.put({ key: 'workerStarts', value: starts });
    return starts;
  });
}
