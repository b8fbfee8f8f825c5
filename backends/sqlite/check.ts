// What can be wrong with the database file itself, told in an operator's words: why it could not be
// opened (read-only, not a database, damaged, disk full) and, at start, a bounded structural check.
// SQLite's own messages ("attempt to write a readonly database") name neither the file nor the fix.

import fs from 'node:fs';
import Database from 'better-sqlite3';

/** A problem with the store's file that the operator has to fix (ispd exits 2: a configuration problem). */
export class StoreFileError extends Error {
  override readonly name = 'StoreFileError';
  constructor(
    readonly file: string,
    readonly kind: 'readOnly' | 'notDatabase' | 'damaged' | 'full',
    message: string,
  ) {
    super(message);
  }
}

/** The SQLite result code of an error from better-sqlite3 (e.g. SQLITE_READONLY_DBMOVED), or ''. */
export function sqliteCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

/** The store's file problem behind an error from opening it, or null when it is something else. */
export function describeOpenFailure(file: string, err: unknown): StoreFileError | null {
  const code = sqliteCode(err);
  const reason = err instanceof Error ? err.message : String(err);
  const user = typeof process.getuid === 'function' ? `uid ${process.getuid()}` : 'this user';
  if (/^SQLITE_(READONLY|PERM|CANTOPEN|AUTH)/.test(code) || /^(EACCES|EPERM|EROFS)$/.test(code)) {
    return new StoreFileError(
      file,
      'readOnly',
      `the database file ${file} cannot be written (${reason}): make it, its directory and its -wal and -shm files writable by ${user} (chown/chmod), or mount the filesystem read-write`,
    );
  }
  if (code === 'SQLITE_NOTADB') {
    return new StoreFileError(file, 'notDatabase', `${file} is not an SQLite database (${reason}): point db at the store, or move the file away to start with an empty one`);
  }
  if (code.startsWith('SQLITE_CORRUPT')) {
    return new StoreFileError(file, 'damaged', `the database file ${file} is damaged (${reason}): restore it from a backup, or save what is readable with "ispd export --db ${file}" and load it into a new file with "ispd import"`);
  }
  if (code === 'SQLITE_FULL' || code === 'ENOSPC') {
    return new StoreFileError(file, 'full', `no space left for the database file ${file} (${reason}): free space on its filesystem`);
  }
  return null;
}

export interface QuickCheckResult {
  /** Problems SQLite reported (at most 20), empty when the checked tables are sound. */
  problems: string[];
  /** Tables (each with its indexes) checked, and those left for lack of time. */
  checked: string[];
  skipped: string[];
  seconds: number;
}

/**
 * SQLite's quick_check (the B-tree structure of every page: what a torn or overwritten page breaks, index
 * pages included; not the slower comparison of indexes against their tables that integrity_check adds),
 * one table with its indexes at a time, until `budgetSeconds` are spent: a start never
 * waits much longer than that on a big store. On its own read-only connection.
 */
export function quickCheck(file: string, budgetSeconds: number): QuickCheckResult {
  const started = process.hrtime.bigint();
  const elapsed = () => Number(process.hrtime.bigint() - started) / 1e9;
  const result: QuickCheckResult = { problems: [], checked: [], skipped: [], seconds: 0 };
  if (!fs.existsSync(file)) return result;
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const tables = db
      .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
      .pluck()
      .all() as string[];
    for (const table of tables) {
      if (elapsed() > budgetSeconds) {
        result.skipped.push(table);
        continue;
      }
      const rows = db.prepare(`PRAGMA quick_check("${table.replace(/"/g, '""')}")`).pluck().all() as string[];
      result.checked.push(table);
      // Rows are "ok" or one problem each; a multi-line row starts with the schema's name ("*** in database main ***").
      for (const row of rows) {
        const problem = row.replace(/^\*\*\* in database \w+ \*\*\*\s*/, '').trim();
        if (problem !== 'ok' && problem !== '' && result.problems.length < 20) result.problems.push(problem);
      }
    }
  } finally {
    db.close();
  }
  result.seconds = elapsed();
  return result;
}
