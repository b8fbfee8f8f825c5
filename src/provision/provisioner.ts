// What every provisioning workflow shares: the directory it writes through (as an ISPMan admin, so the
// ACL and schema checks of an LDAP write apply), reads, ISPMan's atomic counters, and one transaction per
// operation with a retry when a concurrent writer took the same counter value.

import { randomBytes } from 'node:crypto';
import type { DirectoryService } from '../directory/operations';
import { DirectoryError, ResultCode } from '../directory/errors';
import { escapeFilterValue, parseFilter } from '../directory/filter';
import { SCAN_PAUSE, type BatchWrite, type Entry, type OperationContext, type Scope } from '../directory/types';
import type { RecordSource } from './dns-template';
import { ProvisionError } from './errors';
import { countersDn } from './names';

export interface ProvisionSettings {
  baseDN: string;
  /** The identity every write runs as (an ISPMan admin: uid=ispman,ou=admins,<base>). */
  adminDN: string;
  /** ISPMan defaultHomeDirectoryPath: a domain lives in <home>/<domain>. */
  homeDirectory: string;
  loginShell: string;
  /** Default mailbox quota, MB (ISPMan defaultUserMailQuota). */
  mailQuotaMB: number;
  /** ISPMan cyrusVirtDomainFeature: mailRoutingAddress is user@domain (yes) or <uid>@<mailHost> (no). */
  virtDomains: boolean;
  /** Address of the web server for a domain's A records when --webhost names none. */
  webAddress: string;
  dnsTemplate: readonly string[];
  /** Extra DNS record producers published with the template's (DKIM, DMARC …). */
  recordSources?: readonly RecordSource[];
  /** Mail stores (host names); empty = ISPMan's ou=hostgroups mailstoregroup. */
  mailStores: readonly string[];
  postAdd: string | null;
  postDelete: string | null;
  serialFormat?: 'date' | 'counter';
}

type Counter = 'uid' | 'gid' | 'pid';

const COUNTERS: Record<Counter, { cn: string; curr: string; min?: string; max?: string; reserved?: string }> = {
  uid: { cn: 'uidcounter', curr: 'ispmanCurrUid', min: 'ispmanMinUid', max: 'ispmanMaxUid', reserved: 'ispmanResUid' },
  gid: { cn: 'gidcounter', curr: 'ispmanCurrGid', min: 'ispmanMinGid', max: 'ispmanMaxGid', reserved: 'ispmanResGid' },
  pid: { cn: 'pidcounter', curr: 'ispmanCurrPid' },
};

/** ISPMan's counters.ldif starts ids at 10000; a counter ispd creates leaves the POSIX range open above it. */
const FIRST_ID = 10000;
const LAST_ID = 2147483647;

/** Attribute values of an entry by name, whatever case the entry carries it in. */
export function values(entry: Entry | undefined, name: string): string[] {
  if (!entry) return [];
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(entry.attributes)) if (k.toLowerCase() === lower) return v;
  return [];
}

export const first = (entry: Entry | undefined, name: string): string | undefined => values(entry, name)[0];

/** A random password for accounts created without one (ISPMan: encryptPassWithMethod of an empty one). */
export function randomPassword(): string {
  return randomBytes(12).toString('base64url');
}

export class Provisioner {
  readonly ctx: OperationContext;

  constructor(
    readonly directory: DirectoryService,
    readonly settings: ProvisionSettings,
  ) {
    const dnNorm = directory.dn.normalize(settings.adminDN);
    this.ctx = { identity: { dn: settings.adminDN, dnNorm }, peer: 'provision', secure: true };
  }

  get base(): string {
    return this.settings.baseDN;
  }

  /** Entries under `base` matching an RFC 4515 filter, read as the admin. */
  find(base: string, scope: Scope, filter: string, attributes: string[] = []): Entry[] {
    let outcome;
    try {
      outcome = this.directory.search({ base, scope, filter: parseFilter(filter), attributes, typesOnly: false, sizeLimit: 0, timeLimit: 0 }, this.ctx);
      // SCAN_PAUSE marks are for adapters that share an event loop with other clients; a batch job just reads on.
      return [...outcome.entries].filter((entry): entry is Entry => entry !== SCAN_PAUSE);
    } catch (e) {
      if (e instanceof DirectoryError && e.code === ResultCode.noSuchObject) return [];
      throw e;
    }
  }

  /** The entry at `dn`, or undefined. */
  get(dn: string, attributes: string[] = []): Entry | undefined {
    return this.find(dn, 'base', '(objectClass=*)', attributes)[0];
  }

  /** The first entry in the tree holding `address` as its address, alias or article-era mail id. */
  addressOwner(address: string): Entry | undefined {
    const a = escapeFilterValue(address);
    return this.find(this.base, 'sub', `(|(mailLocalAddress=${a})(mailAlias=${a})(mailacceptinggeneralid=${a}))`, ['1.1'])[0];
  }

  /**
   * Runs one operation as one transaction. `plan` reads what it needs and returns the writes (counter
   * updates included); when another writer moved a counter in between, the whole batch fails on the
   * counter's old value and the plan is made again (a few times), so ids are never handed out twice.
   */
  async transaction<T>(plan: (ids: IdAllocator) => Promise<{ writes: BatchWrite[]; result: T }> | { writes: BatchWrite[]; result: T }): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const ids = new IdAllocator(this);
      const { writes, result } = await plan(ids);
      try {
        await this.directory.writeBatch([...writes, ...ids.writes()], this.ctx);
        return result;
      } catch (e) {
        const raced = e instanceof DirectoryError && ids.used() && (e.code === ResultCode.noSuchAttribute || e.code === ResultCode.entryAlreadyExists);
        if (!raced || attempt >= 5) throw e;
      }
    }
  }
}

/**
 * ISPMan's counters (cn=uidcounter|gidcounter|pidcounter,ou=counters; LDAP.pm getUid/getGid): the next id
 * is one above max(current, minimum), skipping reserved ids and ids already in use. The counter update is
 * written in the operation's own batch as "delete the old value, add the new one", so a concurrent writer
 * that took the same value makes the batch fail (noSuchAttribute) instead of giving two entries one id.
 */
export class IdAllocator {
  private readonly state = new Map<Counter, { dn: string; old: string | undefined; next: number; exists: boolean }>();

  constructor(private readonly p: Provisioner) {}

  used(): boolean {
    return this.state.size > 0;
  }

  next(kind: Counter): number {
    const c = COUNTERS[kind];
    let s = this.state.get(kind);
    if (!s) {
      const dn = `cn=${c.cn},${countersDn(this.p.base)}`;
      const entry = this.p.get(dn);
      const old = first(entry, c.curr);
      s = { dn, old, next: Number(old ?? 0), exists: !!entry };
      this.state.set(kind, s);
    }
    const entry = c.min ? this.p.get(s.dn) : undefined;
    const min = Number(first(entry, c.min ?? '') ?? (kind === 'pid' ? 0 : FIRST_ID));
    const max = Number(first(entry, c.max ?? '') ?? LAST_ID);
    const reserved = new Set(values(entry, c.reserved ?? '').map(Number));
    let id = Math.max(s.next, min) + 1;
    const attr = kind === 'uid' ? 'uidNumber' : kind === 'gid' ? 'gidNumber' : undefined;
    while (reserved.has(id) || (attr && this.p.find(this.p.base, 'sub', `(${attr}=${id})`, ['1.1']).length > 0)) id++;
    if (id > max) throw new ProvisionError(`no ${kind} left: ${c.max} is ${max} in ${s.dn} (raise it)`);
    s.next = id;
    return id;
  }

  writes(): BatchWrite[] {
    const out: BatchWrite[] = [];
    let branch = false;
    for (const [kind, s] of this.state) {
      const c = COUNTERS[kind];
      const value = String(s.next);
      if (!s.exists) {
        if (!branch) out.push({ op: 'add', dn: countersDn(this.p.base), attributes: { objectClass: ['ispmanBranch'], ou: ['counters'] }, ifMissing: true });
        branch = true;
        const attributes: Record<string, string[]> = { objectClass: ['ispmanCounters'], cn: [c.cn], [c.curr]: [value] };
        if (c.min) attributes[c.min] = [String(FIRST_ID)];
        if (c.max) attributes[c.max] = [String(LAST_ID)];
        out.push({ op: 'add', dn: s.dn, attributes });
      } else if (s.old === undefined) {
        out.push({ op: 'modify', dn: s.dn, changes: [{ operation: 'add', attribute: c.curr, values: [value] }] });
      } else {
        out.push({
          op: 'modify',
          dn: s.dn,
          changes: [
            { operation: 'delete', attribute: c.curr, values: [s.old] },
            { operation: 'add', attribute: c.curr, values: [value] },
          ],
        });
      }
    }
    return out;
  }
}
