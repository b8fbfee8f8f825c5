// Commits by other processes on the same SQLite file (ispd domain add, ispd user add, a second ispd):
// each one appends to the write-ahead log, so a watch on the database's directory (inotify on Linux) tells a
// serving process at once, instead of at its next poll of the change log. The callback only says "look
// now": the reader still takes the changes from the change log (changesSince), which stays the truth.

import fs from 'node:fs';
import path from 'node:path';

/**
 * Calls `onCommit` (at most once per `coalesceMs`) after the WAL of `dbPath` changed. Returns a function
 * that stops watching. Where the platform cannot watch, returns a no-op: the change-log poll still runs.
 */
export function watchCommits(dbPath: string, onCommit: () => void, coalesceMs = 5): () => void {
  const file = path.resolve(dbPath);
  const wal = path.basename(file) + '-wal';
  let timer: NodeJS.Timeout | null = null;
  let watcher: fs.FSWatcher;
  try {
    // The directory, not the WAL file: SQLite may remove and recreate the WAL, which would end a file watch.
    watcher = fs.watch(path.dirname(file), { persistent: false }, (_event, name) => {
      if (name !== wal || timer) return;
      timer = setTimeout(() => {
        timer = null;
        onCommit();
      }, coalesceMs);
    });
  } catch {
    return () => undefined;
  }
  watcher.on('error', () => watcher.close());
  return () => {
    if (timer) clearTimeout(timer);
    watcher.close();
  };
}
