// The one place that runs every directory operation: DN rules → ACL → backend → re-check.
// Protocol adapters (LDAP, DNS, CLI) call this; it knows nothing of wire formats.

import { randomBytes, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { AttributeMap, Backend, ChangeRecord, IndexTerm, StoredEntry, WriteTransaction } from '../../backends/types';
import { AccessControl, ENTRY, type Requester } from '../acl';
import { decoyVerify, hashPassword, identifyScheme, isHashed, needsRehash, verifyPassword } from '../auth/passwords';
import { FailureTiming } from '../auth/failure-timing';
import { BindThrottle } from '../auth/throttle';
import { DNNormalizer, formatDN, formatRDN, parseDN, parentOfNormalized, type RDN } from './dn';
import { canonicalName, COMPUTED_OPERATIONAL, generalizedTime, isOperational, keyOfStoredName, parseSelection, selectedTypes, selects, splitDescription, type Selection } from './entry';
import { ChangeFeed, type ChangeNotice } from './change-feed';
import { DirectoryError, ResultCode } from './errors';
import { AttributeNames, compileFilter, filterToString, objectClassClosures, planCandidates, type EntryTest } from './filter';
import { FilterCache } from './filter-cache';
import { checkEntry } from './schema-check';
import type { AttributeType, Schema } from './schema/types';
import { SCAN_PAUSE, type BatchWrite, type Directory, type Entry, type Identity, type Modification, type OperationContext, type ScanPause, type SearchOutcome, type SearchRequest } from './types';

export const SUBSCHEMA_DN = 'cn=Subschema';

/** What the directory's readers get of the store: everything but the writes. */
export type StoreReader = Omit<Backend, 'write' | 'bulkLoad'>;

const LOCAL_COMMIT: ChangeNotice = Object.freeze({ origin: 'local' });

export interface DirectoryOptions {
  backend: Backend;
  schema: Schema;
  /** Naming context, e.g. "o=ispman". */
  baseDN: string;
  /** Where admins live (ISPMan: ou=admins,<base>). */
  adminsDN?: string;
  acl?: AccessControl;
  /** Attribute names with an equality/presence/prefix index. */
  indexedAttributes: string[];
  /** Server-side size limit for non-admins (slapd's default is 500); 0 = none. */
  sizeLimit: number;
  /** Server-side time limit, seconds; 0 = none. */
  timeLimit: number;
  anonymousRead?: boolean;
  allowAnonymous?: boolean;
  passwordScheme?: string;
  rehashOnBind?: boolean;
  throttle?: BindThrottle;
  /** Failed binds are answered on a grid of this many milliseconds (auth/failure-timing.ts); 0 = at once. Default 250. */
  failedBindDelayMs?: number;
  /** Optional root identity (like slapd's rootdn/rootpw): bypasses ACLs. */
  rootDN?: string;
  rootPassword?: string;
  /**
   * Rows an unindexed search (no index narrows the candidates, scope one or sub) may examine before it ends
   * with adminLimitExceeded, for anonymous and for authenticated non-admin requesters (slapd: limits …
   * size.unchecked); 0 = no limit. Admins, the rootdn and ispd itself are not limited.
   */
  uncheckedAnonymous?: number;
  uncheckedUsers?: number;
  /**
   * Schema checks on writes: 'strict' checks every written entry (the Relax Rules control lets an admin
   * skip them); 'legacy' also lets any writer change an entry that already failed them (loaded with
   * `import --relaxed`) without making it pass, while new and conforming entries stay checked; 'off'
   * checks no object class rules at all (OpenLDAP 2.3's `schemacheck off`). Attributes must be defined
   * in every mode.
   */
  schemaChecks?: 'strict' | 'legacy' | 'off';
  /** Bytes (estimated) the compiled-filter cache may hold; default 16 MiB. */
  filterCacheBytes?: number;
  logger?: { warn(o: object, m?: string): void; info(o: object, m?: string): void; debug(o: object, m?: string): void };
}

/** One entry a write transaction changed, before and after. */
export interface WriteChange {
  kind: ChangeRecord['kind'];
  before?: StoredEntry;
  after?: StoredEntry;
}

/**
 * Something run inside each write transaction (e.g. the DNS serial bump), once, after its changes were
 * applied: one change for a single operation, all of them for a writeBatch.
 */
export type WriteHook = (tx: WriteTransaction, changes: readonly WriteChange[]) => void;

/** The identity used by ispd itself (DNS zone loading, provisioning): bypasses ACLs. */
export const SYSTEM_IDENTITY: Identity = { dn: 'cn=ispd-internal', dnNorm: '\u0000system' };
export const SYSTEM_CONTEXT: OperationContext = { identity: SYSTEM_IDENTITY, peer: 'internal', secure: true };

const ANONYMOUS: Identity = { dn: '', dnNorm: '' };
/** About 100,000 typical lookup filters (Postfix's, nslcd's); a 2 MiB filter is never kept. */
const DEFAULT_FILTER_CACHE_BYTES = 16 * 1024 * 1024;

/** An add that passed the checks needing no transaction, ready to store. */
interface PreparedAdd {
  dn: string;
  dnNorm: string;
  /** '' for the suffix entry. */
  parentNorm: string;
  attrs: AttributeMap;
}

/** A modify that passed the checks needing no transaction, ready to apply. */
interface PreparedModify {
  dnNorm: string;
  /** Relax Rules (admins only): the object class rules are not applied. */
  relax: boolean;
  changes: Array<Modification & { at: AttributeType; name: string }>;
}

export class DirectoryService extends EventEmitter implements Directory {
  /** The store for reads; writes go through commit() only, so none escapes the change feed. */
  readonly backend: StoreReader;
  /** Every commit of this directory, and those of other processes relayed to it (see change-feed.ts). */
  readonly changes = new ChangeFeed();
  private readonly store: Backend;
  readonly schema: Schema;
  readonly dn: DNNormalizer;
  readonly names: AttributeNames;
  readonly acl: AccessControl;
  readonly baseNorm: string;
  readonly namingContexts: string[];
  private readonly indexed: Set<string>;
  private readonly options: DirectoryOptions;
  private readonly hooks: WriteHook[] = [];
  private readonly filterCache: FilterCache<{ test: EntryTest; plan: ReturnType<typeof planCandidates> }>;
  private readonly selectionCache = new Map<string, Selection>();
  private subschemaNorm: string | undefined;
  private readonly userPassword: AttributeType;
  private readonly objectClassAt: AttributeType;
  private readonly rootNorm: string;
  private readonly ocClosure: (value: string) => Set<string>;
  private readonly failureTiming: FailureTiming;

  /**
   * The directory's only way to write: one transaction, then the change feed, whose consumers (DNS zones,
   * the cluster's DNS barrier) have the change before the write resolves and the client is answered.
   */
  private async commit<T>(fn: (tx: WriteTransaction) => T): Promise<T> {
    const result = this.store.write(fn);
    await this.changes.publish(LOCAL_COMMIT);
    return result;
  }

  constructor(options: DirectoryOptions) {
    super();
    this.setMaxListeners(100);
    this.options = options;
    this.filterCache = new FilterCache(options.filterCacheBytes ?? DEFAULT_FILTER_CACHE_BYTES);
    this.failureTiming = new FailureTiming(options.failedBindDelayMs ?? 250);
    this.backend = options.backend;
    this.store = options.backend;
    this.schema = options.schema;
    this.dn = new DNNormalizer(options.schema);
    this.names = new AttributeNames(options.schema);
    this.baseNorm = this.dn.normalize(options.baseDN);
    this.namingContexts = [options.baseDN];
    const adminsNorm = this.dn.normalize(options.adminsDN ?? `ou=admins,${options.baseDN}`);
    this.acl = options.acl ?? new AccessControl([], adminsNorm, this.baseNorm);
    this.rootNorm = options.rootDN ? this.dn.normalize(options.rootDN) : '\u0000none';
    this.acl.rootNorm = this.rootNorm;
    this.indexed = new Set(
      options.indexedAttributes.map((a) => {
        const at = options.schema.attributeType(a);
        if (!at) throw new Error(`indexed attribute ${a} is not in the schema`);
        return at.key;
      }),
    );
    this.userPassword = options.schema.attributeType('userPassword')!;
    this.objectClassAt = options.schema.attributeType('objectClass')!;
    this.ocClosure = objectClassClosures(options.schema);
  }

  /** The failed-bind throttle (the cluster shares its counts between worker processes). */
  get throttle(): BindThrottle | undefined {
    return this.options.throttle;
  }

  /** Registers a hook run inside every write transaction. */
  addWriteHook(hook: WriteHook): void {
    this.hooks.push(hook);
  }

  private runHooks(tx: WriteTransaction, changes: readonly WriteChange[]): void {
    if (changes.length === 0) return;
    for (const h of this.hooks) h(tx, changes);
  }

  /** Index terms of an entry for the backend. */
  indexTerms(attrs: AttributeMap): IndexTerm[] {
    const terms: IndexTerm[] = [];
    for (const [name, values] of Object.entries(attrs)) {
      const at = keyOfStoredName(this.schema, name);
      if (!at || !this.indexed.has(at.key)) continue;
      if (at.key === 'objectclass') {
        // Superclasses are indexed too: (objectClass=person) must find inetOrgPerson entries.
        const seen = new Set<string>();
        for (const v of values) for (const n of this.ocClosure(v)) seen.add(n);
        for (const n of seen) terms.push({ attr: at.key, value: n });
        continue;
      }
      for (const v of values) {
        const norm = this.schema.normalizeValue(at, v);
        if (norm !== null) terms.push({ attr: at.key, value: norm });
      }
    }
    return terms;
  }

  private requester(ctx: OperationContext): Requester & { system: boolean } {
    return { dnNorm: ctx.identity.dnNorm, system: ctx.identity.dnNorm === SYSTEM_IDENTITY.dnNorm };
  }

  private can(ctx: OperationContext, entryNorm: string, at: AttributeType | string, need: Parameters<AccessControl['can']>[3]): boolean {
    const r = this.requester(ctx);
    if (r.system) return true;
    return this.acl.can(r, entryNorm, typeof at === 'string' ? at : at.key, need);
  }

  private isPrivileged(ctx: OperationContext): boolean {
    const r = this.requester(ctx);
    return r.system || r.dnNorm === this.rootNorm || this.acl.isAdmin(r);
  }

  /** The Relax Rules control is for administrators (slapd asks for `manage` access): anyone else is refused. */
  private mayRelax(ctx: OperationContext): boolean {
    if (!ctx.relax) return false;
    if (!this.isPrivileged(ctx)) throw DirectoryError.of('insufficientAccessRights', 'the Relax Rules control is for administrators');
    return true;
  }

  /** Object class rules for an entry about to be written (see DirectoryOptions.schemaChecks); `before` for changes. */
  private checkWrittenEntry(attrs: AttributeMap, relax: boolean, before?: AttributeMap): void {
    const mode = this.options.schemaChecks ?? 'strict';
    if (relax || mode === 'off') return;
    if (mode === 'legacy' && before && !conforms(this.schema, before, this.names)) return;
    checkEntry(this.schema, attrs, this.names);
  }

  /** Resolves a DN to its stored entry or throws noSuchObject with the deepest existing ancestor as matchedDN. */
  resolve(dnNorm: string, what = 'entry'): StoredEntry {
    const e = this.backend.getByDnNorm(dnNorm);
    if (e) return e;
    throw DirectoryError.of('noSuchObject', `no such ${what}`, this.matchedDN(dnNorm));
  }

  private matchedDN(dnNorm: string): string {
    let p = parentOfNormalized(dnNorm);
    while (p !== '') {
      const e = this.backend.getByDnNorm(p);
      if (e) return e.dn;
      p = parentOfNormalized(p);
    }
    return '';
  }

  // ------------------------------------------------------------------------------------------------------
  // Search

  search(req: SearchRequest, ctx: OperationContext): SearchOutcome {
    const baseNorm = this.dn.normalize(req.base);
    if (baseNorm === (this.subschemaNorm ??= this.dn.normalize(SUBSCHEMA_DN))) return this.searchSubschema(req);
    // A subtree search needs only the base's DN from the store (sqlite: a path range), and any row it
    // returns lies below an existing base, so the base is looked up only when no row came back (to answer
    // noSuchObject): one statement less for every lookup that finds something (Postfix, nslcd).
    const lazyBase = req.scope === 'sub';
    const base: StoredEntry = lazyBase ? { id: 0, parentId: null, dn: req.base, dnNorm: baseNorm, attrs: {} } : this.resolve(baseNorm);
    const requester = this.requester(ctx);
    const privileged = this.isPrivileged(ctx);
    const canUse = (at: AttributeType) => requester.system || this.acl.can(requester, '', at.key, 'search') || this.acl.can(requester, baseNorm, at.key, 'search');
    const key = `${ctx.identity.dnNorm}\u0000${filterToString(req.filter)}`;
    let compiled = this.filterCache.get(key);
    if (!compiled) {
      compiled = {
        test: compileFilter(req.filter, this.schema, this.names, canUse),
        plan: planCandidates(req.filter, this.schema, this.names, this.indexed),
      };
      this.filterCache.set(key, compiled);
    }
    const { test, plan } = compiled;
    const selection = this.selection(req.attributes);

    const serverSizeLimit = privileged || req.paged ? 0 : this.options.sizeLimit;
    const sizeLimit = req.sizeLimit > 0 && serverSizeLimit > 0 ? Math.min(req.sizeLimit, serverSizeLimit) : req.sizeLimit || serverSizeLimit;
    const timeLimitS = req.timeLimit > 0 && !privileged && this.options.timeLimit > 0 ? Math.min(req.timeLimit, this.options.timeLimit) : req.timeLimit || (privileged ? 0 : this.options.timeLimit);
    const deadline = timeLimitS > 0 ? Date.now() + timeLimitS * 1000 : Infinity;

    let afterId = 0;
    if (req.paged && req.paged.cookie) {
      const n = Number(req.paged.cookie);
      if (!Number.isInteger(n) || n < 0) {
        if (lazyBase) this.resolve(baseNorm); // a missing base is the answer first, as before
        throw DirectoryError.of('unwillingToPerform', 'paged results cookie is invalid');
      }
      afterId = n;
    }
    const pageSize = req.paged && req.paged.size > 0 ? req.paged.size : 0;

    let result: { code: number; message: string; pagedCookie?: string } = { code: ResultCode.success, message: '' };
    const self = this;
    const unindexed = plan.kind === 'all' && req.scope !== 'base' && !privileged;
    const unchecked = unindexed ? (ctx.identity.dnNorm === '' ? this.options.uncheckedAnonymous : this.options.uncheckedUsers) ?? 0 : 0;
    function* run(): Generator<Entry | ScanPause> {
      let sent = 0;
      let examined = 0;
      let sincePause = 0;
      let lastId = afterId;
      const rows = unindexed ? scanInChunks(self.backend, { base, scope: req.scope, candidates: plan }, afterId) : self.backend.search({ base, scope: req.scope, candidates: plan, afterId: afterId || undefined });
      let found = !lazyBase;
      for (const row of rows) {
        found = true;
        if (ctx.signal?.aborted) {
          result = { code: ResultCode.cancelled, message: 'abandoned' };
          return;
        }
        if ((++examined & 63) === 0 && Date.now() > deadline) {
          result = { code: ResultCode.timeLimitExceeded, message: 'time limit exceeded' };
          return;
        }
        if (unchecked > 0 && examined > unchecked) {
          self.options.logger?.info({ requester: ctx.identity.dn || 'anonymous', peer: ctx.peer, base: req.base, examined: unchecked }, 'unindexed search stopped at its unchecked limit');
          result = { code: ResultCode.adminLimitExceeded, message: 'unindexed search examined too many entries (unchecked limit)' };
          return;
        }
        if (test(row.attrs, row.dnNorm) !== true || (!requester.system && !self.acl.can(requester, row.dnNorm, ENTRY, 'read'))) {
          // A scan that finds nothing for a while offers its caller a point to let other clients in.
          if (++sincePause === 64) {
            sincePause = 0;
            yield SCAN_PAUSE;
          }
          continue;
        }
        sincePause = 0;
        if (pageSize && sent === pageSize) {
          // There is at least one more match: hand back a cookie to continue after the last one sent.
          result = { code: ResultCode.success, message: '', pagedCookie: String(lastId) };
          return;
        }
        if (sizeLimit > 0 && sent === sizeLimit) {
          result = { code: ResultCode.sizeLimitExceeded, message: 'size limit exceeded' };
          return;
        }
        sent++;
        lastId = row.id;
        yield self.present(row, selection, req.typesOnly, ctx);
      }
      if (!found) self.resolve(baseNorm);
      if (req.paged) result = { code: ResultCode.success, message: '', pagedCookie: '' };
    }
    return { entries: run(), done: () => result, unindexed };
  }

  /** The parsed attribute selection of a search, shared by searches asking for the same list. */
  private selection(requested: string[]): Selection {
    const key = requested.length === 1 ? requested[0] : requested.join('\u0000');
    let selection = this.selectionCache.get(key);
    if (selection === undefined) {
      selection = parseSelection(this.schema, requested);
      if (this.selectionCache.size >= 1000) this.selectionCache.clear();
      this.selectionCache.set(key, selection);
    }
    return selection;
  }

  /** Builds the entry a requester sees: selected attributes it may read, computed operational attributes. */
  present(row: StoredEntry, selection: Selection, typesOnly: boolean, ctx: OperationContext): Entry {
    const requester = this.requester(ctx);
    const attributes: Record<string, string[]> = {};
    if (!selection.none) {
      const selected = selectedTypes(this.schema, selection);
      for (const name in row.attrs) {
        const at = selected(name);
        if (at === null) continue;
        if (!requester.system && !this.acl.can(requester, row.dnNorm, at.key, 'read')) continue;
        attributes[name] = typesOnly ? [] : row.attrs[name];
      }
      if (selection.allOperational || selection.explicit.length) {
        for (const name of COMPUTED_OPERATIONAL) {
          const at = this.schema.attributeType(name);
          if (!at || !selects(this.schema, selection, at)) continue;
          const v = name === 'hasSubordinates' ? (this.backend.hasChildren(row.id) ? 'TRUE' : 'FALSE') : name === 'subschemaSubentry' ? SUBSCHEMA_DN : row.dn;
          attributes[name] = typesOnly ? [] : [v];
        }
      }
    }
    return { dn: row.dn, attributes };
  }

  private searchSubschema(req: SearchRequest): SearchOutcome {
    if (req.scope !== 'base') return { entries: [], done: () => ({ code: 0, message: '' }) };
    const s = this.schema;
    const attrs: AttributeMap = {
      objectClass: ['top', 'subentry', 'subschema', 'extensibleObject'],
      cn: ['Subschema'],
      attributeTypes: [...s.attributeTypes()].map((a) => a.definition),
      objectClasses: [...s.objectClasses()].map((o) => o.definition),
      matchingRules: s.matchingRuleDefinitions(),
      ldapSyntaxes: s.syntaxDefinitions(),
      structuralObjectClass: ['subentry'],
      entryDN: [SUBSCHEMA_DN],
      subschemaSubentry: [SUBSCHEMA_DN],
    };
    const row: StoredEntry = { id: 0, parentId: null, dn: SUBSCHEMA_DN, dnNorm: this.dn.normalize(SUBSCHEMA_DN), attrs };
    const test = compileFilter(req.filter, s, this.names);
    const sel = parseSelection(s, req.attributes);
    const entries: Entry[] = [];
    if (test(attrs, row.dnNorm) === true) {
      const out: Record<string, string[]> = {};
      for (const [name, values] of Object.entries(attrs)) {
        const at = s.attributeType(name);
        // The schema attributes are operational (like slapd, they come with '+' or by name).
        if (at && selects(s, sel, at)) out[name] = req.typesOnly ? [] : values;
      }
      entries.push({ dn: SUBSCHEMA_DN, attributes: out });
    }
    return { entries, done: () => ({ code: 0, message: '' }) };
  }

  // ------------------------------------------------------------------------------------------------------
  // Compare and bind

  compare(dn: string, attribute: string, value: string, ctx: OperationContext): boolean {
    const dnNorm = this.dn.normalize(dn);
    const entry = this.resolve(dnNorm);
    const at = this.schema.attributeType(splitDescription(attribute).type);
    if (!at) throw DirectoryError.of('undefinedAttributeType', `${attribute}: attribute type undefined`);
    if (!this.can(ctx, dnNorm, at, 'compare')) throw DirectoryError.of('insufficientAccessRights', `no compare access to ${at.name}`);
    if (!at.equality) throw DirectoryError.of('inappropriateMatching', `${at.name} has no equality matching rule`);
    const want = at.equality.normalize(value);
    if (want === null) throw DirectoryError.of('invalidAttributeSyntax', `value is not valid for ${at.name}`);
    let present = false;
    for (const name of this.names.namesOf(at)) {
      const vs = entry.attrs[name];
      if (!vs) continue;
      present = true;
      for (const v of vs) if (at.equality.normalize(v) === want) return true;
    }
    if (!present) throw DirectoryError.of('noSuchAttribute', `${at.name} not present`);
    return false;
  }

  async bind(dn: string, password: string, ctx: OperationContext): Promise<Identity> {
    if (dn === '' && password === '') {
      if (this.options.allowAnonymous === false) throw DirectoryError.of('inappropriateAuthentication', 'anonymous bind disallowed');
      return ANONYMOUS;
    }
    if (password === '') throw DirectoryError.of('unwillingToPerform', 'unauthenticated bind (DN with no password) disallowed');
    let dnNorm: string | undefined;
    try {
      dnNorm = this.dn.normalize(dn);
    } catch {
      // Like a wrong password: a malformed DN tells the client nothing more.
    }
    const throttle = this.options.throttle;
    const verdict = dnNorm !== undefined && throttle ? throttle.check(dnNorm, ctx.peer) : undefined;
    if (verdict && (verdict.refused || verdict.delayMs > 0)) {
      this.emit('bindFailure', 'throttled');
      this.options.logger?.info({ dn, peer: ctx.peer, reason: verdict.reason, delayMs: Math.round(verdict.delayMs), refused: verdict.refused }, 'bind throttled: failed binds for this DN or from this address');
      if (verdict.delayMs > 0) await pause(verdict.delayMs, ctx.signal);
    }
    const started = performance.now();
    if (dnNorm === undefined || verdict?.refused || ctx.signal?.aborted) return this.failBind(started);
    if (dnNorm === this.rootNorm && this.options.rootPassword !== undefined) {
      if (await verifyPassword(this.options.rootPassword, password)) return { dn, dnNorm };
      throttle?.recordFailure(dnNorm, ctx.peer);
      this.emit('bindFailure', 'wrong-password');
      return this.failBind(started);
    }
    const entry = this.backend.getByDnNorm(dnNorm);
    const stored = entry ? entry.attrs[this.userPassword.name] ?? [] : [];
    const anonymous = { dnNorm: '' };
    let ok = false;
    let matched: string | undefined;
    let checked = false;
    if (entry && this.acl.can(anonymous, dnNorm, this.userPassword.key, 'auth')) {
      for (const value of stored) {
        checked = true;
        if (await verifyPassword(value, password)) {
          ok = true;
          matched = value;
          break;
        }
        const scheme = identifyScheme(value);
        if (!scheme.supported) this.options.logger?.warn({ dn: entry.dn, scheme: scheme.label }, 'userPassword uses an unsupported scheme');
      }
    }
    // Spend some work on a DN that does not exist too; when the failure is answered is set by failBind.
    if (!checked) await decoyVerify(password, this.options.passwordScheme);
    if (!ok) {
      throttle?.recordFailure(dnNorm, ctx.peer);
      this.emit('bindFailure', entry ? 'wrong-password' : 'no-such-entry');
      return this.failBind(started);
    }
    throttle?.recordSuccess(dnNorm, ctx.peer);
    if (this.options.rehashOnBind && matched && entry) await this.rehash(entry, matched, password);
    return { dn: entry!.dn, dnNorm };
  }

  /** Answers a failed bind (invalidCredentials) on the failure-timing grid, whatever made it fail. */
  private async failBind(startedMs: number): Promise<never> {
    const wait = this.failureTiming.remaining(startedMs);
    if (wait > 0) await pause(wait);
    throw DirectoryError.of('invalidCredentials', 'invalid credentials');
  }

  private async rehash(entry: StoredEntry, old: string, password: string): Promise<void> {
    const scheme = this.options.passwordScheme ?? '{SSHA512}';
    if (!needsRehash(old, scheme)) return;
    const fresh = await hashPassword(password, scheme);
    await this.commit((tx) => {
      const cur = tx.getByDnNorm(entry.dnNorm);
      if (!cur) return;
      const attrs = { ...cur.attrs };
      attrs[this.userPassword.name] = (attrs[this.userPassword.name] ?? []).map((v) => (v === old ? fresh : v));
      tx.update({ id: cur.id, attrs, index: this.indexTerms(attrs) });
    });
  }

  // ------------------------------------------------------------------------------------------------------
  // Writes

  /** Canonicalizes client attributes: schema names, merged duplicates, duplicate values rejected. */
  private canonicalAttrs(input: Record<string, string[]>, relaxed: boolean): AttributeMap {
    const out: AttributeMap = {};
    const seen = new Map<string, Set<string>>();
    for (const [desc, values] of Object.entries(input)) {
      let name: string;
      let at: AttributeType | undefined;
      try {
        ({ at, name } = canonicalName(this.schema, desc));
      } catch (e) {
        if (!relaxed) throw e;
        name = desc;
      }
      const list = (out[name] ??= []);
      const norms = seen.get(name) ?? new Set<string>();
      seen.set(name, norms);
      for (const v of values) {
        const n = at ? this.schema.normalizeValue(at, v) ?? v : v;
        if (norms.has(n)) {
          if (relaxed) continue;
          throw DirectoryError.of('attributeOrValueExists', `${name}: value #${list.length} provided more than once`);
        }
        norms.add(n);
        list.push(v);
      }
      if (list.length === 0) delete out[name];
    }
    return out;
  }

  private async hashPasswords(attrs: AttributeMap): Promise<void> {
    for (const name of Object.keys(attrs)) {
      const at = keyOfStoredName(this.schema, name);
      if (!at || !this.schema.isSubtype(at, this.userPassword)) continue;
      attrs[name] = await Promise.all(attrs[name].map((v) => (isHashed(v) ? v : hashPassword(v, this.options.passwordScheme))));
    }
  }

  private operationalOnCreate(attrs: AttributeMap, ctx: OperationContext, keepExisting: boolean): void {
    const now = generalizedTime();
    const who = ctx.identity.dnNorm === SYSTEM_IDENTITY.dnNorm ? '' : ctx.identity.dn;
    const set = (name: string, v: string) => {
      if (!keepExisting || !attrs[name]) attrs[name] = [v];
    };
    set('structuralObjectClass', this.structuralClass(attrs) ?? 'top');
    set('entryUUID', randomUUID());
    set('creatorsName', who);
    set('createTimestamp', now);
    set('entryCSN', csn());
    set('modifiersName', who);
    set('modifyTimestamp', now);
  }

  private structuralClass(attrs: AttributeMap): string | undefined {
    const ocs = (attrs.objectClass ?? []).map((n) => this.schema.objectClass(n)).filter((o) => o && o.kind === 'STRUCTURAL');
    // the most specific: the one whose closure contains every other structural class
    for (const oc of ocs) {
      const closure = this.schema.classClosure(oc!);
      if (ocs.every((o) => closure.includes(o!))) return oc!.name;
    }
    return ocs[0]?.name;
  }

  /** Rejects client-supplied NO-USER-MODIFICATION attributes (constraintViolation, as slapd does). */
  private rejectNoUserMod(attrs: AttributeMap | Modification[]): void {
    const names = Array.isArray(attrs) ? attrs.map((m) => m.attribute) : Object.keys(attrs);
    for (const n of names) {
      const at = this.schema.attributeType(splitDescription(n).type);
      if (at && at.noUserModification) throw DirectoryError.of('constraintViolation', `${at.name}: no user modification allowed`);
    }
  }

  /**
   * Checks and completes a new entry (DN rules, canonical names, RDN values, schema, operational
   * attributes) without storing it: the shared first half of add and of import.
   */
  prepareEntry(dn: string, input: Record<string, string[]>, ctx: OperationContext, opts: { relaxed?: boolean; keepOperational?: boolean; skipSchemaCheck?: boolean } = {}): { dn: string; dnNorm: string; parentDnNorm: string | null; attrs: AttributeMap } {
    const rdns = parseDN(dn);
    if (rdns.length === 0) throw DirectoryError.of('entryAlreadyExists', 'root DSE already exists');
    const dnNorm = this.dn.normalizeRDNs(rdns);
    if (!opts.keepOperational) this.rejectNoUserMod(input);
    const attrs = this.canonicalAttrs(input, !!opts.relaxed);
    this.addRdnValues(rdns[0], attrs, !!opts.relaxed);
    // relaxed (import --relaxed, like slapadd -s) also accepts undefined attributes; skipSchemaCheck only the class rules
    if (!opts.relaxed && !opts.skipSchemaCheck) checkEntry(this.schema, attrs, this.names);
    this.operationalOnCreate(attrs, ctx, !!opts.keepOperational);
    const parentDnNorm = parentOfNormalized(dnNorm);
    return { dn: formatDN(rdns), dnNorm, parentDnNorm: parentDnNorm === '' ? null : parentDnNorm, attrs };
  }

  async add(dn: string, input: Record<string, string[]>, ctx: OperationContext): Promise<void> {
    const prepared = await this.prepareAdd(dn, input, ctx);
    await this.commit((tx) => {
      const changes: WriteChange[] = [];
      this.applyAdd(tx, prepared, false, changes);
      this.runHooks(tx, changes);
    });
  }

  /** The checks of an add that need no transaction (DN, schema, ACL), and the password hashing. */
  private async prepareAdd(dn: string, input: Record<string, string[]>, ctx: OperationContext): Promise<PreparedAdd> {
    this.mustHold(this.dn.normalize(dn));
    const relax = this.mayRelax(ctx);
    const prepared = this.prepareEntry(dn, input, ctx, { skipSchemaCheck: relax || this.options.schemaChecks === 'off' });
    const { dnNorm, attrs } = prepared;
    for (const name of Object.keys(attrs)) {
      const at = keyOfStoredName(this.schema, name);
      if (at && at.noUserModification) continue;
      if (!this.can(ctx, dnNorm, at ? at.key : name.toLowerCase(), 'write')) throw DirectoryError.of('insufficientAccessRights', `no write access to ${name}`);
    }
    if (!this.can(ctx, dnNorm, ENTRY, 'write')) throw DirectoryError.of('insufficientAccessRights', 'no write access to entry');
    await this.hashPasswords(attrs);
    return { dn: prepared.dn, dnNorm, parentNorm: prepared.parentDnNorm ?? '', attrs };
  }

  /** Stores a prepared add inside a transaction; with ifMissing an existing entry is left alone (returns false). */
  private applyAdd(tx: WriteTransaction, p: PreparedAdd, ifMissing: boolean, changes: WriteChange[]): boolean {
    const { dnNorm, parentNorm, attrs } = p;
    if (tx.getByDnNorm(dnNorm)) {
      if (ifMissing) return false;
      throw DirectoryError.of('entryAlreadyExists', 'already exists');
    }
    let parentId: number | null = null;
    if (parentNorm !== '') {
      const parent = tx.getByDnNorm(parentNorm);
      if (!parent) throw DirectoryError.of('noSuchObject', 'parent does not exist', this.matchedDN(dnNorm));
      parentId = parent.id;
    } else if (dnNorm !== this.baseNorm) {
      throw DirectoryError.of('noSuchObject', 'no global superior knowledge');
    }
    const id = tx.add({ parentId, dn: p.dn, dnNorm, attrs, index: this.indexTerms(attrs) });
    const after: StoredEntry = { id, parentId, dn: p.dn, dnNorm, attrs };
    changes.push({ kind: 'add', after });
    return true;
  }

  /** A write to a DN outside the naming context: like slapd with no database for it, not a missing entry. */
  private mustHold(dnNorm: string): void {
    if (!within(dnNorm, this.baseNorm)) throw DirectoryError.of('unwillingToPerform', 'no global superior knowledge');
  }

  /** The RDN's values must be in the entry (slapd adds them on slapadd/ldapadd when absent). */
  private addRdnValues(rdn: RDN, attrs: AttributeMap, relaxed: boolean): void {
    for (const ava of rdn) {
      let name: string;
      let at: AttributeType | undefined;
      try {
        ({ at, name } = canonicalName(this.schema, ava.type));
      } catch (e) {
        if (!relaxed) throw DirectoryError.of('namingViolation', `naming attribute ${ava.type} is undefined`);
        name = ava.type;
      }
      // An RDN value must be comparable to find the entry by its DN (slapd's entry_naming_check).
      if (at && !at.equality && !relaxed) throw DirectoryError.of('namingViolation', `naming attribute '${at.name}' has no equality matching rule`);
      const list = (attrs[name] ??= []);
      const want = at ? this.schema.normalizeValue(at, ava.value) : ava.value;
      if (!list.some((v) => (at ? this.schema.normalizeValue(at, v) : v) === want)) list.push(ava.value);
    }
  }

  async modify(dn: string, changes: Modification[], ctx: OperationContext): Promise<void> {
    const prepared = await this.prepareModify(dn, changes, ctx);
    await this.commit((tx) => {
      const changes: WriteChange[] = [];
      this.applyModify(tx, prepared, ctx, changes);
      this.runHooks(tx, changes);
    });
  }

  /** The checks of a modify that need no transaction (ACL, NO-USER-MODIFICATION), and the password hashing. */
  private async prepareModify(dn: string, changes: Modification[], ctx: OperationContext): Promise<PreparedModify> {
    const dnNorm = this.dn.normalize(dn);
    this.mustHold(dnNorm);
    this.rejectNoUserMod(changes);
    const relax = this.mayRelax(ctx);
    // Hash clear-text passwords before entering the (synchronous) transaction.
    const prepared: PreparedModify['changes'] = [];
    for (const m of changes) {
      const { at, name } = canonicalName(this.schema, m.attribute);
      let values = m.values;
      if (this.schema.isSubtype(at, this.userPassword) && (m.operation === 'add' || m.operation === 'replace')) {
        values = await Promise.all(values.map((v) => (isHashed(v) ? v : hashPassword(v, this.options.passwordScheme))));
      }
      if (!this.can(ctx, dnNorm, at, 'write')) throw DirectoryError.of('insufficientAccessRights', `no write access to ${at.name}`);
      prepared.push({ ...m, values, at, name });
    }
    return { dnNorm, changes: prepared, relax: this.mayRelax(ctx) };
  }

  private applyModify(tx: WriteTransaction, p: PreparedModify, ctx: OperationContext, changes: WriteChange[]): void {
    const { dnNorm } = p;
    const before = tx.getByDnNorm(dnNorm);
    if (!before) throw DirectoryError.of('noSuchObject', 'no such entry', this.matchedDN(dnNorm));
    const attrs: AttributeMap = {};
    for (const [k, v] of Object.entries(before.attrs)) attrs[k] = v.slice();
    for (const m of p.changes) applyModification(this.schema, attrs, m);
    const rdn = parseDN(before.dn)[0];
    for (const ava of rdn) {
      const at = this.schema.attributeType(ava.type);
      if (!at) continue;
      const want = this.schema.normalizeValue(at, ava.value);
      if (!(attrs[at.name] ?? []).some((v) => this.schema.normalizeValue(at, v) === want)) {
        throw DirectoryError.of('notAllowedOnRDN', `value of naming attribute '${at.name}' is not present in entry`);
      }
    }
    this.checkWrittenEntry(attrs, p.relax, before.attrs);
    // An entry keeps its structural class for life (slapd: objectClassModsProhibited, which Relax Rules
    // lifts); auxiliary classes and superclasses of the structural one may come and go.
    const stored = before.attrs.structuralObjectClass?.[0];
    // 'top' marks an entry imported without a structural class (import --relaxed): it may gain one.
    const wasStructural = stored && this.schema.objectClass(stored)?.kind === 'STRUCTURAL' ? stored : this.structuralClass(before.attrs);
    const nowStructural = this.structuralClass(attrs);
    if (!p.relax && wasStructural && nowStructural && wasStructural.toLowerCase() !== nowStructural.toLowerCase()) {
      throw DirectoryError.of('objectClassModsProhibited', `structural object class modification from '${wasStructural}' to '${nowStructural}' not allowed`);
    }
    attrs.modifiersName = [ctx.identity.dnNorm === SYSTEM_IDENTITY.dnNorm ? '' : ctx.identity.dn];
    attrs.modifyTimestamp = [generalizedTime()];
    attrs.entryCSN = [csn()];
    tx.update({ id: before.id, attrs, index: this.indexTerms(attrs) });
    const after = { ...before, attrs };
    changes.push({ kind: 'modify', before, after });
  }

  async delete(dn: string, ctx: OperationContext): Promise<void> {
    const dnNorm = this.prepareDelete(dn, ctx);
    await this.commit((tx) => {
      const changes: WriteChange[] = [];
      this.applyDelete(tx, dnNorm, changes);
      this.runHooks(tx, changes);
    });
  }

  private prepareDelete(dn: string, ctx: OperationContext): string {
    const dnNorm = this.dn.normalize(dn);
    this.mustHold(dnNorm);
    if (!this.can(ctx, dnNorm, ENTRY, 'write')) {
      this.resolve(dnNorm);
      throw DirectoryError.of('insufficientAccessRights', 'no write access to entry');
    }
    return dnNorm;
  }

  private applyDelete(tx: WriteTransaction, dnNorm: string, changes: WriteChange[]): void {
    const before = tx.getByDnNorm(dnNorm);
    if (!before) throw DirectoryError.of('noSuchObject', 'no such entry', this.matchedDN(dnNorm));
    if (tx.hasChildren(before.id)) throw DirectoryError.of('notAllowedOnNonLeaf', 'subordinate objects must be deleted first');
    tx.remove(before.id);
    changes.push({ kind: 'delete', before });
  }

  /**
   * Several writes as one transaction (provisioning: a domain with its group, branches and DNS records):
   * each write gets exactly the checks of the single operation (DN rules, ACL, schema, password hashing,
   * the write hooks such as the SOA serial), they apply in order, and either all commit or none does
   * (the first failure throws its DirectoryError and rolls the rest back). The change feed hears of the
   * commit once, like any write, and the batch is answered after its consumers (the DNS barrier).
   */
  async writeBatch(writes: readonly BatchWrite[], ctx: OperationContext): Promise<void> {
    const prepared: Array<(tx: WriteTransaction, changes: WriteChange[]) => void> = [];
    for (const w of writes) {
      if (w.op === 'add') {
        const p = await this.prepareAdd(w.dn, w.attributes, ctx);
        prepared.push((tx, changes) => this.applyAdd(tx, p, !!w.ifMissing, changes));
      } else if (w.op === 'modify') {
        const p = await this.prepareModify(w.dn, w.changes, ctx);
        prepared.push((tx, changes) => this.applyModify(tx, p, ctx, changes));
      } else {
        const dnNorm = this.prepareDelete(w.dn, ctx);
        prepared.push((tx, changes) => this.applyDelete(tx, dnNorm, changes));
      }
    }
    if (prepared.length === 0) return;
    await this.commit((tx) => {
      const changes: WriteChange[] = [];
      for (const apply of prepared) apply(tx, changes);
      // The hooks see the whole batch at once: a new zone's records and its SOA raise no serial, a zone
      // changed by several writes is raised once.
      this.runHooks(tx, changes);
      return changes;
    });
  }

  async modifyDN(dn: string, newRdnText: string, deleteOldRdn: boolean, newSuperior: string | undefined, ctx: OperationContext): Promise<void> {
    const oldRdns = parseDN(dn);
    const dnNorm = this.dn.normalizeRDNs(oldRdns);
    const newRdn = parseDN(newRdnText);
    if (newRdn.length !== 1) throw DirectoryError.of('invalidDNSyntax', 'new RDN must be one RDN');
    const superiorRdns = newSuperior !== undefined ? parseDN(newSuperior) : oldRdns.slice(1);
    const newRdns = [newRdn[0], ...superiorRdns];
    const newNorm = this.dn.normalizeRDNs(newRdns);
    const newParentNorm = this.dn.normalizeRDNs(superiorRdns);
    this.mustHold(dnNorm);
    const relax = this.mayRelax(ctx);
    // The suffix entry names the whole naming context, and nothing may leave it (slapd: "cannot rename between DSAs").
    if (dnNorm === this.baseNorm) throw DirectoryError.of('affectsMultipleDSAs', 'cannot rename the naming context');
    if (!within(newNorm, this.baseNorm)) throw DirectoryError.of('affectsMultipleDSAs', 'cannot move an entry out of the naming context');
    if (!this.can(ctx, dnNorm, ENTRY, 'write') || !this.can(ctx, newNorm, ENTRY, 'write')) {
      this.resolve(dnNorm);
      throw DirectoryError.of('insufficientAccessRights', 'no write access to entry');
    }
    await this.commit((tx) => {
      const before = tx.getByDnNorm(dnNorm);
      if (!before) throw DirectoryError.of('noSuchObject', 'no such entry', this.matchedDN(dnNorm));
      if (newNorm !== dnNorm && tx.getByDnNorm(newNorm)) throw DirectoryError.of('entryAlreadyExists', 'already exists');
      let newParentId = before.parentId;
      if (newSuperior !== undefined) {
        const parent = newParentNorm === '' ? undefined : tx.getByDnNorm(newParentNorm);
        if (!parent) throw DirectoryError.of('noSuchObject', 'new superior does not exist', this.matchedDN(newNorm));
        if (newParentNorm === dnNorm || newParentNorm.endsWith(',' + dnNorm)) throw DirectoryError.of('unwillingToPerform', 'cannot move an entry below itself');
        newParentId = parent.id;
      }
      const attrs: AttributeMap = {};
      for (const [k, v] of Object.entries(before.attrs)) attrs[k] = v.slice();
      if (deleteOldRdn) {
        for (const ava of oldRdns[0]) {
          const at = this.schema.attributeType(ava.type);
          if (!at) continue;
          const want = this.schema.normalizeValue(at, ava.value);
          const stillNamed = newRdn[0].some((n) => this.schema.attributeType(n.type) === at && this.schema.normalizeValue(at, n.value) === want);
          if (stillNamed) continue;
          if (at.noUserModification) continue;
          attrs[at.name] = (attrs[at.name] ?? []).filter((v) => this.schema.normalizeValue(at, v) !== want);
          if (attrs[at.name].length === 0) delete attrs[at.name];
        }
      }
      this.addRdnValues(newRdn[0], attrs, false);
      this.checkWrittenEntry(attrs, relax, before.attrs);
      attrs.modifiersName = [ctx.identity.dnNorm === SYSTEM_IDENTITY.dnNorm ? '' : ctx.identity.dn];
      attrs.modifyTimestamp = [generalizedTime()];
      attrs.entryCSN = [csn()];
      const newDn = formatRDN(newRdn[0]) + (superiorRdns.length ? ',' + (newSuperior !== undefined ? formatDN(superiorRdns) : before.dn.slice(before.dn.indexOf(',') + 1)) : '');
      tx.move({ id: before.id, newParentId, newDn, newDnNorm: newNorm, attrs, index: this.indexTerms(attrs) }, before.dnNorm, before.dn);
      const after: StoredEntry = { id: before.id, parentId: newParentId, dn: newDn, dnNorm: newNorm, attrs };
      this.runHooks(tx, [{ kind: 'rename', before, after }]);
    });
  }

  /** RFC 3062 Password Modify. Returns the generated password when none was given. */
  async passwordModify(userDn: string | undefined, oldPassword: string | undefined, newPassword: string | undefined, ctx: OperationContext): Promise<string | undefined> {
    // Like slapd: an anonymous session changes no password, not even with the old one given.
    if (ctx.identity.dnNorm === '') throw DirectoryError.of('strongerAuthRequired', 'only authenticated users may change passwords');
    const targetDn = userDn ?? ctx.identity.dn;
    if (!targetDn) throw DirectoryError.of('unwillingToPerform', 'password modify requires a user or an authenticated session');
    const dnNorm = this.dn.normalize(targetDn);
    const entry = this.resolve(dnNorm);
    if (!this.can(ctx, dnNorm, this.userPassword, 'write')) throw DirectoryError.of('insufficientAccessRights', 'no write access to userPassword');
    if (oldPassword !== undefined) {
      let ok = false;
      for (const v of entry.attrs[this.userPassword.name] ?? []) if (await verifyPassword(v, oldPassword)) ok = true;
      if (!ok) throw DirectoryError.of('unwillingToPerform', 'old password does not match');
    } else if (ctx.identity.dnNorm === dnNorm && !this.isPrivileged(ctx)) {
      // slapd lets a user change its own password without the old one only through ACLs; we follow it.
    }
    const generated = newPassword === undefined ? randomBytes(12).toString('base64url') : undefined;
    await this.modify(entry.dn, [{ operation: 'replace', attribute: this.userPassword.name, values: [newPassword ?? generated!] }], ctx);
    return generated;
  }

  /** Whether an entry exists (used by provisioning and DNS). */
  exists(dn: string): boolean {
    return !!this.backend.getByDnNorm(this.dn.normalize(dn));
  }
}

/**
 * Rows of a scan fetched a small chunk at a time: one backend call is synchronous, and a 5,000-row chunk
 * (what the backend reads ahead for a long search) held the event loop for 50-270 ms, which no slicing
 * between rows can hide.
 */
function* scanInChunks(backend: StoreReader, query: { base: StoredEntry; scope: SearchRequest['scope']; candidates: ReturnType<typeof planCandidates> }, afterId: number): Generator<StoredEntry> {
  let after = afterId;
  for (;;) {
    const rows = [...backend.search({ ...query, afterId: after || undefined, limit: SCAN_CHUNK_ROWS })];
    yield* rows;
    if (rows.length < SCAN_CHUNK_ROWS) return;
    after = rows[rows.length - 1]!.id;
  }
}

const SCAN_CHUNK_ROWS = 128;

/** Whether stored attributes pass the object class rules (false for entries loaded with import --relaxed). */
function conforms(schema: Schema, attrs: AttributeMap, names: AttributeNames): boolean {
  try {
    checkEntry(schema, attrs, names);
    return true;
  } catch {
    return false;
  }
}

/** Resolves after `ms`, or as soon as `signal` aborts (the client left: nobody waits for the answer). */
function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Whether a normalized DN is `baseNorm` or below it. */
function within(dnNorm: string, baseNorm: string): boolean {
  return dnNorm === baseNorm || dnNorm.endsWith(',' + baseNorm);
}

/** Applies one modification to a working copy of the attributes, with slapd's result codes. */
export function applyModification(schema: Schema, attrs: AttributeMap, m: Modification & { at: AttributeType; name: string }): void {
  const { at, name } = m;
  const norm = (v: string) => schema.normalizeValue(at, v) ?? v;
  const current = attrs[name] ?? [];
  switch (m.operation) {
    case 'add': {
      if (m.values.length === 0) throw DirectoryError.of('protocolError', `${name}: no values to add`);
      const have = new Set(current.map(norm));
      for (const v of m.values) {
        const n = norm(v);
        if (have.has(n)) throw DirectoryError.of('attributeOrValueExists', `modify/add: ${name}: value #0 already exists`);
        have.add(n);
        current.push(v);
      }
      attrs[name] = current;
      break;
    }
    case 'delete': {
      if (!attrs[name]) throw DirectoryError.of('noSuchAttribute', `modify/delete: ${name}: no such attribute`);
      if (m.values.length === 0) {
        delete attrs[name];
        break;
      }
      let left = current;
      for (const v of m.values) {
        const n = norm(v);
        const next = left.filter((x) => norm(x) !== n);
        if (next.length === left.length) throw DirectoryError.of('noSuchAttribute', `modify/delete: ${name}: no such value`);
        left = next;
      }
      if (left.length) attrs[name] = left;
      else delete attrs[name];
      break;
    }
    case 'replace': {
      if (m.values.length === 0) delete attrs[name];
      else {
        const seen = new Set<string>();
        for (const v of m.values) {
          const n = norm(v);
          if (seen.has(n)) throw DirectoryError.of('attributeOrValueExists', `modify/replace: ${name}: duplicate value`);
          seen.add(n);
        }
        attrs[name] = m.values.slice();
      }
      break;
    }
    case 'increment': {
      if (m.values.length !== 1) throw DirectoryError.of('protocolError', 'modify/increment operation requires single value');
      if (!attrs[name]) throw DirectoryError.of('noSuchAttribute', `modify/increment: ${name}: no such attribute`);
      if (at.equality?.name !== 'integerMatch') throw DirectoryError.of('constraintViolation', `modify/increment: ${name}: increment not supported for this type`);
      if (m.values.length !== 1 || !/^-?\d+$/.test(m.values[0].trim())) throw DirectoryError.of('invalidAttributeSyntax', `modify/increment: ${name}: invalid increment value`);
      const by = BigInt(m.values[0].trim());
      attrs[name] = current.map((v) => (BigInt(v.trim()) + by).toString());
      break;
    }
  }
}

let csnCounter = 0;
/** An entryCSN in slapd's format: GeneralizedTime with microseconds, a change count, server id, modifier. */
function csn(): string {
  const d = new Date();
  const t = generalizedTime(d).slice(0, 14);
  const micro = String(d.getUTCMilliseconds() * 1000).padStart(6, '0');
  csnCounter = (csnCounter + 1) & 0xffffff;
  return `${t}.${micro}Z#${csnCounter.toString(16).padStart(6, '0')}#000#000000`;
}

export function createDirectory(options: DirectoryOptions): DirectoryService {
  return new DirectoryService(options);
}

export { isOperational };
