// Problems with the store's file, as configuration errors (exit 2) that name the file and the fix, and the
// bounded structural check `ispd serve` runs at start (config startCheck, startCheckSeconds).
//
// Why a damaged store refuses to start by default: SQLite reads around a damaged page without always
// failing, so a broken index page means searches that silently miss entries. Postfix then rejects mail
// for existing users and logins fail with "no such user", which is worse than a refused start (Postfix
// defers, resolvers retry another server) and which nobody notices. `startCheck: warn` serves anyway,
// for an operator who needs to export what is still readable.

import { describeOpenFailure, quickCheck, type QuickCheckResult } from '../backends/sqlite/check';
import { ConfigError, type Config } from './config/load';

/** The error to report for a failure to open the store: a ConfigError naming the file and the fix when it is the file's fault. */
export function storeOpenError(file: string, err: unknown): unknown {
  const problem = describeOpenFailure(file, err);
  return problem ? new ConfigError('db', file, 'a usable SQLite database file', undefined, `db: ${problem.message}`) : err;
}

/**
 * Runs the start check unless turned off. A damaged file throws a ConfigError when startCheck is refuse;
 * with warn the caller logs the result. A file that cannot be opened at all throws like storeOpenError.
 */
export function runStartCheck(config: Config): QuickCheckResult | null {
  if (config.startCheck === 'off' || config.backend !== 'sqlite') return null;
  let result: QuickCheckResult;
  try {
    result = quickCheck(config.db, config.startCheckSeconds);
  } catch (err) {
    throw storeOpenError(config.db, err);
  }
  if (result.problems.length > 0 && config.startCheck === 'refuse') {
    const more = result.problems.length > 1 ? ` (and ${result.problems.length - 1} more)` : '';
    throw new ConfigError(
      'db',
      config.db,
      'an undamaged SQLite database file',
      undefined,
      `db: the database file ${config.db} is damaged: ${result.problems[0]}${more}. Restore it from a backup, or save what is readable with "ispd export --db ${config.db}" and load it into a new file with "ispd import" (startCheck: warn serves the damaged file anyway)`,
    );
  }
  return result;
}
