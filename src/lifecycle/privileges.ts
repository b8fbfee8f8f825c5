// Dropping root after the listeners are up (config runAs.user / runAs.group), like slapd -u/-g and
// named -u: ports 389, 636 and 53 are bound as root, then the process becomes the configured user for
// good. Names are resolved with getent, so users from NSS (files, LDAP, systemd-sysusers) all work.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { ConfigError } from '../config/load';

export interface RunAsTarget {
  readonly user: string;
  readonly uid: number;
  readonly group: string;
  readonly gid: number;
}

interface DbEntry {
  name: string;
  id: number;
  /** passwd: the primary group id. */
  gid?: number;
}

function getent(database: 'passwd' | 'group', key: string): DbEntry | null {
  let out: string;
  try {
    out = execFileSync('getent', [database, key], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return null; // exit 2: not found
  }
  const fields = out.split('\n')[0].split(':');
  if (fields.length < 3) return null;
  return { name: fields[0], id: Number(fields[2]), gid: database === 'passwd' ? Number(fields[3]) : undefined };
}

/** Resolves runAs.user / runAs.group to ids; null when no user is configured. Throws ConfigError naming the key. */
export function resolveRunAs(runAs: { readonly user: string | null; readonly group: string | null }): RunAsTarget | null {
  if (runAs.user === null) {
    if (runAs.group !== null) throw new ConfigError('runAs.group', runAs.group, '', undefined, `runAs.group: ${JSON.stringify(runAs.group)} needs runAs.user to be set too`);
    return null;
  }
  const user = getent('passwd', runAs.user);
  if (user === null) throw new ConfigError('runAs.user', runAs.user, 'an existing user name or uid', undefined, `runAs.user: ${JSON.stringify(runAs.user)} is not an existing user name or uid`);
  let group: DbEntry | null;
  if (runAs.group !== null) {
    group = getent('group', runAs.group);
    if (group === null) throw new ConfigError('runAs.group', runAs.group, 'an existing group name or gid', undefined, `runAs.group: ${JSON.stringify(runAs.group)} is not an existing group name or gid`);
  } else {
    group = getent('group', String(user.gid)) ?? { name: String(user.gid), id: user.gid! };
  }
  return { user: user.name, uid: user.id, group: group.name, gid: group.id };
}

/** Whether switching to `target` is possible from here: root can, and so can the target user itself. */
export function checkCanSwitch(target: RunAsTarget): void {
  const uid = process.getuid?.();
  if (uid === undefined || uid === 0 || (uid === target.uid && process.getgid?.() === target.gid)) return;
  throw new ConfigError('runAs.user', target.user, '', undefined,
    `runAs.user: switching to ${JSON.stringify(target.user)} needs ispd to start as root (it runs as uid ${uid}); unset runAs or start it as root`);
}

/**
 * Becomes `target` for good: hands `ownFiles` that exist (the SQLite database and its -wal/-shm) to the
 * user so a later start without root can still open them, drops the supplementary groups (root's
 * included), then setgid before setuid (after setuid there is no right left to change the group).
 * Returns what was done, for the log.
 */
export function dropPrivileges(target: RunAsTarget, ownFiles: readonly string[]): { chowned: string[] } {
  const chowned: string[] = [];
  if (process.getuid?.() === target.uid && process.getgid?.() === target.gid) return { chowned };
  for (const file of ownFiles) {
    if (!fs.existsSync(file)) continue;
    fs.chownSync(file, target.uid, target.gid);
    chowned.push(file);
  }
  try {
    // Node has process.initgroups on POSIX; @types/node does not declare it.
    (process as unknown as { initgroups(user: string, extraGroup: number): void }).initgroups(target.user, target.gid);
  } catch {
    process.setgroups!([target.gid]); // a uid without a passwd entry
  }
  process.setgid!(target.gid);
  process.setuid!(target.uid);
  if (process.getuid!() !== target.uid || process.geteuid!() !== target.uid || process.getgid!() !== target.gid) {
    throw new Error(`could not switch to ${target.user}:${target.group}`);
  }
  return { chowned };
}
