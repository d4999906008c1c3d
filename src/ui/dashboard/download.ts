/** Saves JSON as a file the browser downloads: a Blob URL on a temporary link, freed afterwards. */
export function downloadJson(fileName: string, data: unknown): number {
  const blob = new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' });
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  // The download has its own reference to the data once it starts.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return blob.size;
}

/** "switchboard-messages-2026-11-21T08-45-00.json" */
export const exportName = (what: string, at = new Date()) => `switchboard-${what}-${at.toISOString().slice(0, 19).replace(/:/g, '-')}.json`;
