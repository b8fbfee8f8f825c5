// A small in-memory Directory for the LDAP adapter's own tests, where a test must see inside the
// directory: how many entries a search pulled, whether its iterator was closed (abandon, client gone),
// what identity and context an operation carried. Everything about real directory semantics is
// tested against the real server (test/protocol/ldap-harness.ts).

import { DirectoryError } from '../../src/directory/errors';
import type {
  Directory,
  Entry,
  Filter,
  Identity,
  Modification,
  OperationContext,
  SearchOutcome,
  SearchRequest,
} from '../../src/directory/types';

export function normalizeDn(dn: string): string {
  return dn
    .split(',')
    .map((rdn) => rdn.trim().toLowerCase().replace(/\s*=\s*/, '='))
    .filter((rdn) => rdn !== '')
    .join(',');
}

function parentOf(dnNorm: string): string {
  const comma = dnNorm.indexOf(',');
  return comma < 0 ? '' : dnNorm.slice(comma + 1);
}

function valuesOf(entry: Entry, attribute: string): string[] {
  const wanted = attribute.toLowerCase();
  for (const [name, values] of Object.entries(entry.attributes)) if (name.toLowerCase() === wanted) return values;
  return [];
}

export function matchFilter(filter: Filter, entry: Entry): boolean {
  switch (filter.type) {
    case 'and':
      return filter.filters.every((f) => matchFilter(f, entry));
    case 'or':
      return filter.filters.some((f) => matchFilter(f, entry));
    case 'not':
      return !matchFilter(filter.filter, entry);
    case 'present':
      return filter.attribute.toLowerCase() === 'objectclass' || valuesOf(entry, filter.attribute).length > 0;
    case 'equality':
    case 'approx':
      return valuesOf(entry, filter.attribute).some((v) => v.toLowerCase() === filter.value.toLowerCase());
    case 'substrings':
      return valuesOf(entry, filter.attribute).some((v) => {
        const pattern = [filter.initial ?? '', ...filter.any, filter.final ?? '']
          .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
          .join('.*');
        return new RegExp(`^${pattern}$`, 'i').test(v);
      });
    case 'ge':
      return valuesOf(entry, filter.attribute).some((v) => v >= filter.value);
    case 'le':
      return valuesOf(entry, filter.attribute).some((v) => v <= filter.value);
    default:
      return false;
  }
}

/** What the last search did, for assertions. */
export interface SearchProbe {
  request: SearchRequest;
  ctx: OperationContext;
  pulled: number;
  closed: boolean;
  finished: boolean;
}

export class MemoryDirectory implements Directory {
  readonly namingContexts: string[];
  private readonly entries = new Map<string, Entry>();
  readonly searches: SearchProbe[] = [];
  readonly contexts: OperationContext[] = [];

  constructor(base = 'o=test') {
    this.namingContexts = [base];
    this.entries.set(normalizeDn(base), { dn: base, attributes: { objectClass: ['top', 'organization'], o: [base.split('=')[1]] } });
  }

  put(entry: Entry): void {
    this.entries.set(normalizeDn(entry.dn), entry);
  }

  get(dn: string): Entry | undefined {
    return this.entries.get(normalizeDn(dn));
  }

  search(req: SearchRequest, ctx: OperationContext): SearchOutcome {
    const baseNorm = normalizeDn(req.base);
    if (!this.entries.has(baseNorm)) throw new DirectoryError(32, 'no such object', this.matched(baseNorm));
    const probe: SearchProbe = { request: req, ctx, pulled: 0, closed: false, finished: false };
    this.searches.push(probe);
    const candidates = [...this.entries.entries()]
      .filter(([dnNorm]) => {
        if (req.scope === 'base') return dnNorm === baseNorm;
        if (req.scope === 'one') return parentOf(dnNorm) === baseNorm;
        return dnNorm === baseNorm || dnNorm.endsWith(`,${baseNorm}`);
      })
      .map(([, entry]) => entry)
      .filter((entry) => matchFilter(req.filter, entry));
    let start = 0;
    let end = candidates.length;
    let code = 0;
    let cookie: string | undefined;
    if (req.paged) {
      start = req.paged.cookie === '' ? 0 : Number(req.paged.cookie);
      if (!Number.isInteger(start)) throw new DirectoryError(2, 'bad paged results cookie');
      if (req.paged.size > 0) end = Math.min(candidates.length, start + req.paged.size);
      cookie = end < candidates.length ? String(end) : '';
    }
    if (req.sizeLimit > 0 && end - start > req.sizeLimit) {
      end = start + req.sizeLimit;
      code = 4;
    }
    const select = (entry: Entry): Entry => selectAttributes(entry, req.attributes);
    function* produce(): Generator<Entry> {
      try {
        for (let i = start; i < end; i++) {
          if (ctx.signal?.aborted) return;
          probe.pulled++;
          yield select(candidates[i]);
        }
        probe.finished = true;
      } finally {
        probe.closed = true;
      }
    }
    return {
      entries: produce(),
      done: () => ({ code, message: code === 4 ? 'size limit exceeded' : '', pagedCookie: cookie }),
    };
  }

  compare(dn: string, attribute: string, value: string, ctx: OperationContext): boolean {
    this.contexts.push(ctx);
    const entry = this.mustGet(dn);
    return valuesOf(entry, attribute).some((v) => v.toLowerCase() === value.toLowerCase());
  }

  async bind(dn: string, password: string, ctx: OperationContext): Promise<Identity> {
    this.contexts.push(ctx);
    const entry = this.get(dn);
    if (!entry || !valuesOf(entry, 'userPassword').includes(password)) throw new DirectoryError(49, '');
    return { dn: entry.dn, dnNorm: normalizeDn(entry.dn) };
  }

  async add(dn: string, attributes: Record<string, string[]>, ctx: OperationContext): Promise<void> {
    this.contexts.push(ctx);
    const dnNorm = normalizeDn(dn);
    if (this.entries.has(dnNorm)) throw new DirectoryError(68, 'already exists');
    if (!this.entries.has(parentOf(dnNorm))) throw new DirectoryError(32, 'no such object', this.matched(dnNorm));
    this.entries.set(dnNorm, { dn, attributes });
  }

  async modify(dn: string, changes: Modification[], ctx: OperationContext): Promise<void> {
    this.contexts.push(ctx);
    const entry = this.mustGet(dn);
    for (const change of changes) {
      const key = Object.keys(entry.attributes).find((name) => name.toLowerCase() === change.attribute.toLowerCase()) ?? change.attribute;
      const current = entry.attributes[key] ?? [];
      if (change.operation === 'replace') entry.attributes[key] = [...change.values];
      else if (change.operation === 'add') entry.attributes[key] = [...current, ...change.values];
      else if (change.operation === 'delete') {
        entry.attributes[key] = change.values.length === 0 ? [] : current.filter((v) => !change.values.includes(v));
      } else entry.attributes[key] = current.map((v) => String(Number(v) + Number(change.values[0])));
      if (entry.attributes[key].length === 0) delete entry.attributes[key];
    }
  }

  async delete(dn: string, ctx: OperationContext): Promise<void> {
    this.contexts.push(ctx);
    this.mustGet(dn);
    this.entries.delete(normalizeDn(dn));
  }

  async modifyDN(dn: string, newRdn: string, _deleteOldRdn: boolean, newSuperior: string | undefined, ctx: OperationContext): Promise<void> {
    this.contexts.push(ctx);
    const entry = this.mustGet(dn);
    this.entries.delete(normalizeDn(dn));
    const parent = newSuperior ?? dn.slice(dn.indexOf(',') + 1);
    entry.dn = `${newRdn},${parent}`;
    this.put(entry);
  }

  async passwordModify(userDn: string | undefined, _old: string | undefined, newPassword: string | undefined, ctx: OperationContext): Promise<string | undefined> {
    this.contexts.push(ctx);
    const dn = userDn ?? ctx.identity.dn;
    if (dn === '') throw new DirectoryError(53, 'anonymous may not change a password');
    const entry = this.mustGet(dn);
    const next = newPassword ?? 'generated-secret';
    entry.attributes.userPassword = [next];
    return newPassword === undefined ? next : undefined;
  }

  private mustGet(dn: string): Entry {
    const entry = this.get(dn);
    if (!entry) throw new DirectoryError(32, 'no such object', this.matched(normalizeDn(dn)));
    return entry;
  }

  private matched(dnNorm: string): string {
    for (let parent = parentOf(dnNorm); parent !== ''; parent = parentOf(parent)) {
      const entry = this.entries.get(parent);
      if (entry) return entry.dn;
    }
    return '';
  }
}

function selectAttributes(entry: Entry, requested: string[]): Entry {
  const wanted = requested.map((name) => name.toLowerCase());
  const all = wanted.length === 0 || wanted.includes('*');
  const attributes: Record<string, string[]> = {};
  for (const [name, values] of Object.entries(entry.attributes)) {
    if (name.toLowerCase() === 'userpassword') continue;
    if (all || wanted.includes(name.toLowerCase())) attributes[name] = values;
  }
  return { dn: entry.dn, attributes };
}
