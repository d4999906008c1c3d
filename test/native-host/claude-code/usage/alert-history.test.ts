import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AlertHistory, type UsageAlert } from '../../../../native-host/claude-code/usage';

const alert = (at: number, kind: UsageAlert['kind'] = 'cost'): UsageAlert => ({ kind, severity: 'warning', text: `alert at ${at}`, value: 51, threshold: 50, blockId: '2026-11-21T03:00:00.000Z', at });

describe('the alert history', () => {
  let dir: string;
  let file: string;
  let warnings: string[];
  const warn = (line: string) => void warnings.push(line);
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sb-alert-history-'));
    file = join(dir, 'usage', 'alert-history.json');
    warnings = [];
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('keeps alerts newest first, capped, in a file that a restart reads back', async () => {
    const history = await AlertHistory.open(file, { kept: 3, warn });
    expect(history.list()).toEqual([]);
    await history.add(alert(1));
    await history.add(alert(2), alert(3, 'session-time')); // raised together, in this order
    await history.add(alert(4));
    expect(history.list().map((a) => a.at)).toEqual([4, 3, 2]);
    expect(history.list(1).map((a) => a.at)).toEqual([4]);
    const reopened = await AlertHistory.open(file, { kept: 3, warn });
    expect(reopened.list()).toEqual(history.list());
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ version: 1, alerts: history.list() });
    expect((await readdir(join(dir, 'usage'))).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    expect(warnings).toEqual([]);
  });

  it('saves alerts added at once in order, the last write holding them all', async () => {
    const history = await AlertHistory.open(file, { warn });
    await Promise.all([history.add(alert(1)), history.add(alert(2)), history.add(alert(3))]);
    expect((await AlertHistory.open(file, { warn })).list().map((a) => a.at)).toEqual([3, 2, 1]);
  });

  it('starts a new history, with a warning naming the file, from one that is not JSON or not a history', async () => {
    await (await AlertHistory.open(file)).add(alert(1));
    await writeFile(file, '{"version":1,"alerts":[{"kind":"cost"');
    expect((await AlertHistory.open(file, { warn })).list()).toEqual([]);
    await writeFile(file, JSON.stringify({ version: 1, alerts: [{ ...alert(1), severity: 'loud' }] }));
    const history = await AlertHistory.open(file, { warn });
    expect(history.list()).toEqual([]);
    expect(warnings).toEqual([
      expect.stringMatching(new RegExp(`^the alert history ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not JSON`)),
      expect.stringMatching(/is not one \(alerts\.0\.severity: /),
    ]);
    await history.add(alert(2));
    expect((await AlertHistory.open(file)).list().map((a) => a.at)).toEqual([2]);
  });
});
