// A mocha suite every engine must pass, run unchanged against each one the registry offers
// (test/unit/backend-conformance.test.ts): `runBackendConformance(name, open, cleanup, openSecond)`.
// `open()` returns a backend on a fresh, empty store; `cleanup()` (after each test) removes it;
// `openSecond(options)` opens another connection to the same store (another process or front end would). Entries
// here carry index terms computed the simple way (lower-case attribute key, lower-case value), standing in
// for the directory's schema-aware normalization: the backend must treat them as opaque strings.

import * as assert from 'node:assert/strict';
import { StoreError } from './errors';
import type { EngineOptions } from './registry';
import type { AttributeMap, Backend, Candidates, IndexTerm, NewEntry, Scope, StoredEntry } from './types';

const INDEXED = ['objectclass', 'uid', 'cn', 'mail', 'uidnumber', 'memberuid'];

/** Simple stand-in normalization: dn "uid=Bob, ou=People,o=Test" → "uid=bob,ou=people,o=test". */
export function testDnNorm(dn: string): string {
  return dn
    .split(',')
    .map((rdn) => rdn.trim().toLowerCase())
    .join(',');
}

export function testIndexTerms(attrs: AttributeMap): IndexTerm[] {
  const terms: IndexTerm[] = [];
  for (const [name, values] of Object.entries(attrs)) {
    const attr = name.toLowerCase();
    if (!INDEXED.includes(attr)) continue;
    for (const v of values) terms.push({ attr, value: v.toLowerCase() });
  }
  return terms;
}

export function testEntry(dn: string, attrs: AttributeMap, parentId: number | null): NewEntry {
  return { parentId, dn, dnNorm: testDnNorm(dn), attrs, index: testIndexTerms(attrs) };
}

function ids(entries: Iterable<StoredEntry>): number[] {
  return [...entries].map((e) => e.id);
}

function dns(entries: Iterable<StoredEntry>): string[] {
  return [...entries].map((e) => e.dnNorm).sort();
}

interface Tree {
  root: number;
  people: number;
  groups: number;
  alice: number;
  bob: number;
  carol: number;
  admins: number;
  staff: number;
  other: number;
}

/** o=test { ou=people { alice, bob, carol }, ou=groups { cn=admins, cn=staff } }, and a second root o=other. */
function buildTree(b: Backend): Tree {
  return b.write((tx) => {
    const root = tx.add(testEntry('o=Test', { objectClass: ['top', 'organization'], o: ['Test'] }, null));
    const people = tx.add(testEntry('ou=People,o=Test', { objectClass: ['organizationalUnit'], ou: ['People'] }, root));
    const groups = tx.add(testEntry('ou=Groups,o=Test', { objectClass: ['organizationalUnit'], ou: ['Groups'] }, root));
    const person = (uid: string, cn: string, uidNumber: string, mail: string[]) =>
      tx.add(
        testEntry(
          `uid=${uid},ou=People,o=Test`,
          { objectClass: ['top', 'person', 'posixAccount'], uid: [uid], cn: [cn], uidNumber: [uidNumber], mail },
          people,
        ),
      );
    const alice = person('alice', 'Alice Smith', '1001', ['alice@example.com', 'a.smith@example.com']);
    const bob = person('bob', 'Bob Jones', '1002', ['bob@example.com']);
    const carol = person('carol', 'Carol Smithers', '1003', []);
    const admins = tx.add(
      testEntry('cn=admins,ou=Groups,o=Test', { objectClass: ['posixGroup'], cn: ['admins'], memberUid: ['alice'] }, groups),
    );
    const staff = tx.add(
      testEntry('cn=staff,ou=Groups,o=Test', { objectClass: ['posixGroup'], cn: ['staff'], memberUid: ['alice', 'bob'] }, groups),
    );
    const other = tx.add(testEntry('o=Other', { objectClass: ['organization'], o: ['Other'] }, null));
    tx.add(testEntry('uid=alice,o=Other', { objectClass: ['person'], uid: ['alice'], cn: ['Other Alice'] }, other));
    return { root, people, groups, alice, bob, carol, admins, staff, other };
  });
}

export function runBackendConformance(name: string, open: () => Backend, cleanup: () => void, openSecond: (options: Omit<EngineOptions, 'location'>) => Backend): void {
  describe(`backend conformance: ${name}`, function () {
    this.timeout(20000);
    let b: Backend;
    let t: Tree;

    beforeEach(() => {
      b = open();
      t = buildTree(b);
    });
    afterEach(() => {
      b.close();
      cleanup();
    });

    const search = (baseId: number, scope: Scope, candidates: Candidates, afterId?: number, limit?: number) =>
      b.search({ base: b.getById(baseId)!, scope, candidates, afterId, limit });

    describe('CRUD', () => {
      it('reads back what was added, by normalized DN and by id', () => {
        const e = b.getByDnNorm('uid=alice,ou=people,o=test')!;
        assert.equal(e.id, t.alice);
        assert.equal(e.parentId, t.people);
        assert.equal(e.dn, 'uid=alice,ou=People,o=Test');
        assert.deepEqual(e.attrs.mail, ['alice@example.com', 'a.smith@example.com']);
        assert.deepEqual(b.getById(t.alice), e);
        assert.equal(b.getByDnNorm('uid=nobody,ou=people,o=test'), undefined);
        assert.equal(b.getById(999999), undefined);
        assert.equal(b.count(), 10);
      });

      it('updates attributes and the index together', () => {
        b.write((tx) => {
          const attrs = { ...b.getById(t.bob)!.attrs, mail: ['robert@example.com'], cn: ['Bob Jones'] };
          tx.update({ id: t.bob, attrs, index: testIndexTerms(attrs) });
        });
        assert.deepEqual(b.getById(t.bob)!.attrs.mail, ['robert@example.com']);
        assert.deepEqual(ids(search(t.root, 'sub', { kind: 'eq', attr: 'mail', value: 'bob@example.com' })), []);
        assert.deepEqual(ids(search(t.root, 'sub', { kind: 'eq', attr: 'mail', value: 'robert@example.com' })), [t.bob]);
      });

      it('removes an entry and its index terms', () => {
        b.write((tx) => tx.remove(t.carol));
        assert.equal(b.getById(t.carol), undefined);
        assert.equal(b.getByDnNorm('uid=carol,ou=people,o=test'), undefined);
        assert.deepEqual(ids(search(t.root, 'sub', { kind: 'eq', attr: 'uid', value: 'carol' })), []);
        assert.equal(b.count(), 9);
      });

      it('gives a re-added DN a new id', () => {
        b.write((tx) => tx.remove(t.carol));
        const again = b.write((tx) => tx.add(testEntry('uid=carol,ou=People,o=Test', { uid: ['carol'] }, t.people)));
        assert.ok(again > t.carol);
        assert.equal(b.getByDnNorm('uid=carol,ou=people,o=test')!.id, again);
        assert.equal(b.getById(t.carol), undefined);
      });

      it('refuses a second entry with the same normalized DN', () => {
        assert.throws(() => b.write((tx) => tx.add(testEntry('UID=Alice, ou=people, o=test', { uid: ['alice'] }, t.people))));
        assert.equal(b.count(), 10);
      });

      it('answers hasChildren, also inside a write', () => {
        assert.equal(b.hasChildren(t.root), true);
        assert.equal(b.hasChildren(t.people), true);
        assert.equal(b.hasChildren(t.alice), false);
        b.write((tx) => {
          assert.equal(tx.hasChildren(t.groups), true);
          tx.remove(t.admins);
          tx.remove(t.staff);
          assert.equal(tx.hasChildren(t.groups), false);
          assert.equal(tx.getByDnNorm('cn=staff,ou=groups,o=test'), undefined);
        });
        assert.equal(b.hasChildren(t.groups), false);
      });

      it('lists every entry parents first', () => {
        const all = [...b.all()];
        assert.equal(all.length, 10);
        const seen = new Set<number>();
        for (const e of all) {
          if (e.parentId !== null) assert.ok(seen.has(e.parentId), `${e.dn} listed before its parent`);
          seen.add(e.id);
        }
      });

      it('reports a size', () => {
        assert.ok(b.sizeBytes() > 0);
      });
    });

    describe('scopes', () => {
      it('base scope returns the base only', () => {
        assert.deepEqual(ids(search(t.people, 'base', { kind: 'all' })), [t.people]);
        assert.deepEqual(ids(search(t.people, 'base', { kind: 'eq', attr: 'uid', value: 'alice' })), []);
        assert.deepEqual(ids(search(t.alice, 'base', { kind: 'eq', attr: 'uid', value: 'alice' })), [t.alice]);
      });

      it('one-level scope returns the children only', () => {
        assert.deepEqual(ids(search(t.root, 'one', { kind: 'all' })), [t.people, t.groups]);
        assert.deepEqual(ids(search(t.people, 'one', { kind: 'all' })), [t.alice, t.bob, t.carol]);
        assert.deepEqual(ids(search(t.alice, 'one', { kind: 'all' })), []);
        assert.deepEqual(ids(search(t.root, 'one', { kind: 'eq', attr: 'uid', value: 'alice' })), []);
        assert.deepEqual(ids(search(t.people, 'one', { kind: 'eq', attr: 'uid', value: 'alice' })), [t.alice]);
      });

      it('subtree scope includes the base and stays inside its tree', () => {
        assert.deepEqual(ids(search(t.root, 'sub', { kind: 'all' })), [
          t.root, t.people, t.groups, t.alice, t.bob, t.carol, t.admins, t.staff,
        ]);
        assert.deepEqual(ids(search(t.groups, 'sub', { kind: 'all' })), [t.groups, t.admins, t.staff]);
        // uid=alice exists under both roots: only the one in scope comes back.
        assert.deepEqual(ids(search(t.root, 'sub', { kind: 'eq', attr: 'uid', value: 'alice' })), [t.alice]);
        assert.deepEqual(dns(search(t.other, 'sub', { kind: 'eq', attr: 'uid', value: 'alice' })), ['uid=alice,o=other']);
      });

      it('a subtree does not leak into a sibling whose name extends the base name', () => {
        const extra = b.write((tx) => {
          const sib = tx.add(testEntry('ou=People2,o=Test', { objectClass: ['organizationalUnit'] }, t.root));
          return tx.add(testEntry('uid=dave,ou=People2,o=Test', { objectClass: ['person'], uid: ['dave'] }, sib));
        });
        assert.deepEqual(ids(search(t.people, 'sub', { kind: 'all' })), [t.people, t.alice, t.bob, t.carol]);
        assert.deepEqual(ids(search(t.people, 'sub', { kind: 'eq', attr: 'uid', value: 'dave' })), []);
        assert.deepEqual(ids(search(t.root, 'sub', { kind: 'eq', attr: 'uid', value: 'dave' })), [extra]);
      });
    });

    describe('candidates', () => {
      const sub = (c: Candidates) => ids(search(t.root, 'sub', c));

      it('eq', () => {
        assert.deepEqual(sub({ kind: 'eq', attr: 'mail', value: 'a.smith@example.com' }), [t.alice]);
        assert.deepEqual(sub({ kind: 'eq', attr: 'objectclass', value: 'posixgroup' }), [t.admins, t.staff]);
        assert.deepEqual(sub({ kind: 'eq', attr: 'uid', value: 'nobody' }), []);
        assert.deepEqual(sub({ kind: 'eq', attr: 'neverindexed', value: 'x' }), []);
      });

      it('present (each entry once even with several values)', () => {
        assert.deepEqual(sub({ kind: 'present', attr: 'mail' }), [t.alice, t.bob]);
        assert.deepEqual(sub({ kind: 'present', attr: 'memberuid' }), [t.admins, t.staff]);
      });

      it('prefix', () => {
        assert.deepEqual(sub({ kind: 'prefix', attr: 'cn', prefix: 'carol smith' }), [t.carol]);
        assert.deepEqual(sub({ kind: 'prefix', attr: 'cn', prefix: 'a' }), [t.alice, t.admins]);
        assert.deepEqual(sub({ kind: 'prefix', attr: 'uidnumber', prefix: '100' }), [t.alice, t.bob, t.carol]);
        assert.deepEqual(sub({ kind: 'prefix', attr: 'cn', prefix: 'zz' }), []);
      });

      it('and', () => {
        assert.deepEqual(
          sub({ kind: 'and', items: [{ kind: 'eq', attr: 'objectclass', value: 'posixaccount' }, { kind: 'eq', attr: 'uid', value: 'bob' }] }),
          [t.bob],
        );
        assert.deepEqual(
          sub({ kind: 'and', items: [{ kind: 'eq', attr: 'objectclass', value: 'posixgroup' }, { kind: 'eq', attr: 'memberuid', value: 'bob' }] }),
          [t.staff],
        );
        // An AND may answer a superset (the directory re-checks), but never miss an entry and never
        // return one that matches none of its items.
        const r = sub({ kind: 'and', items: [{ kind: 'eq', attr: 'uid', value: 'alice' }, { kind: 'eq', attr: 'uid', value: 'bob' }] });
        assert.ok(r.every((id) => id === t.alice || id === t.bob));
        assert.deepEqual(sub({ kind: 'and', items: [{ kind: 'all' }, { kind: 'eq', attr: 'uid', value: 'carol' }] }), [t.carol]);
        assert.deepEqual(sub({ kind: 'and', items: [{ kind: 'none' }, { kind: 'eq', attr: 'uid', value: 'carol' }] }), []);
      });

      it('or', () => {
        assert.deepEqual(
          sub({ kind: 'or', items: [{ kind: 'eq', attr: 'mail', value: 'bob@example.com' }, { kind: 'eq', attr: 'uid', value: 'carol' }] }),
          [t.bob, t.carol],
        );
        assert.deepEqual(
          sub({ kind: 'or', items: [{ kind: 'eq', attr: 'mail', value: 'alice@example.com' }, { kind: 'eq', attr: 'uid', value: 'alice' }] }),
          [t.alice],
        );
        assert.deepEqual(sub({ kind: 'or', items: [{ kind: 'none' }, { kind: 'eq', attr: 'uid', value: 'bob' }] }), [t.bob]);
        assert.equal(sub({ kind: 'or', items: [{ kind: 'all' }, { kind: 'eq', attr: 'uid', value: 'bob' }] }).length, 8);
        assert.deepEqual(sub({ kind: 'or', items: [] }), []);
      });

      it('nested and/or', () => {
        const c: Candidates = {
          kind: 'or',
          items: [
            { kind: 'and', items: [{ kind: 'eq', attr: 'objectclass', value: 'posixgroup' }, { kind: 'eq', attr: 'cn', value: 'staff' }] },
            { kind: 'and', items: [{ kind: 'prefix', attr: 'uid', prefix: 'car' }, { kind: 'present', attr: 'cn' }] },
          ],
        };
        const r = sub(c);
        assert.ok(r.includes(t.staff) && r.includes(t.carol));
        assert.ok(!r.includes(t.alice) && !r.includes(t.bob));
      });

      it('a large OR', () => {
        const items: Candidates[] = [];
        for (let i = 0; i < 450; i++) items.push({ kind: 'eq', attr: 'uid', value: `nobody${i}` });
        items.push({ kind: 'eq', attr: 'uid', value: 'bob' });
        assert.deepEqual(sub({ kind: 'or', items }), [t.bob]);
      });

      it('in one-level and base scope too', () => {
        assert.deepEqual(ids(search(t.people, 'one', { kind: 'prefix', attr: 'cn', prefix: 'bob' })), [t.bob]);
        assert.deepEqual(ids(search(t.people, 'one', { kind: 'present', attr: 'mail' })), [t.alice, t.bob]);
        assert.deepEqual(ids(search(t.root, 'one', { kind: 'present', attr: 'mail' })), []);
        assert.deepEqual(
          ids(search(t.groups, 'one', { kind: 'or', items: [{ kind: 'eq', attr: 'memberuid', value: 'bob' }, { kind: 'eq', attr: 'cn', value: 'admins' }] })),
          [t.admins, t.staff],
        );
        assert.deepEqual(ids(search(t.staff, 'base', { kind: 'present', attr: 'memberuid' })), [t.staff]);
        assert.deepEqual(ids(search(t.staff, 'base', { kind: 'prefix', attr: 'cn', prefix: 'st' })), [t.staff]);
        assert.deepEqual(ids(search(t.staff, 'base', { kind: 'none' })), []);
      });

      it('treats values as opaque strings (no case folding or trimming by the backend)', () => {
        const id = b.write((tx) =>
          tx.add({ parentId: t.people, dn: 'uid=odd,ou=People,o=Test', dnNorm: 'uid=odd,ou=people,o=test', attrs: { uid: ['Odd '] }, index: [{ attr: 'uid', value: 'Odd ' }] }),
        );
        assert.deepEqual(sub({ kind: 'eq', attr: 'uid', value: 'Odd ' }), [id]);
        assert.deepEqual(sub({ kind: 'eq', attr: 'uid', value: 'odd' }), []);
        assert.deepEqual(sub({ kind: 'prefix', attr: 'uid', prefix: 'Od' }), [id]);
        assert.deepEqual(sub({ kind: 'prefix', attr: 'uid', prefix: 'od' }), []);
      });

      it('all and none', () => {
        assert.equal(sub({ kind: 'all' }).length, 8);
        assert.deepEqual(sub({ kind: 'none' }), []);
      });
    });

    describe('ordering and paging', () => {
      it('returns ids ascending and pages with afterId/limit', () => {
        for (const c of [
          { kind: 'all' },
          { kind: 'present', attr: 'objectclass' },
          { kind: 'eq', attr: 'objectclass', value: 'top' },
          { kind: 'and', items: [{ kind: 'eq', attr: 'objectclass', value: 'top' }, { kind: 'prefix', attr: 'mail', prefix: 'a' }] },
          { kind: 'or', items: [{ kind: 'present', attr: 'uid' }, { kind: 'present', attr: 'memberuid' }] },
        ] as Candidates[]) {
          const everything = ids(search(t.root, 'sub', c));
          assert.deepEqual(everything, [...everything].sort((x, y) => x - y));
          const paged: number[] = [];
          let after = 0;
          for (let guard = 0; guard < 20; guard++) {
            const page = ids(search(t.root, 'sub', c, after, 2));
            assert.ok(page.length <= 2);
            paged.push(...page);
            if (page.length < 2) break;
            after = page[page.length - 1];
          }
          assert.deepEqual(paged, everything);
        }
        assert.deepEqual(ids(search(t.people, 'one', { kind: 'all' }, t.alice, 1)), [t.bob]);
        assert.deepEqual(ids(search(t.people, 'one', { kind: 'all' }, t.carol)), []);
        assert.deepEqual(ids(search(t.alice, 'base', { kind: 'all' }, t.alice)), []);
        assert.deepEqual(ids(search(t.root, 'sub', { kind: 'all' }, 0, 0)), []);
      });

      it('pages through more entries than one internal chunk', () => {
        const n = 2500;
        b.write((tx) => {
          for (let i = 0; i < n; i++) {
            tx.add(testEntry(`uid=u${i},ou=People,o=Test`, { objectClass: ['person'], uid: [`u${i}`] }, t.people));
          }
        });
        const all = ids(search(t.people, 'one', { kind: 'all' }));
        assert.equal(all.length, n + 3);
        assert.deepEqual(all, [...all].sort((x, y) => x - y));
        assert.equal(ids(search(t.root, 'sub', { kind: 'eq', attr: 'objectclass', value: 'person' })).length, n + 3);
        assert.equal(ids(search(t.root, 'sub', { kind: 'prefix', attr: 'uid', prefix: 'u1' })).length, 1111);
        // Paging an equality match in steps.
        const eq: Candidates = { kind: 'eq', attr: 'objectclass', value: 'person' };
        const pages: number[] = [];
        let after = 0;
        for (;;) {
          const page = ids(search(t.people, 'one', eq, after, 700));
          pages.push(...page);
          if (page.length < 700) break;
          after = page[page.length - 1];
        }
        assert.equal(pages.length, n + 3);
        assert.deepEqual(pages, [...pages].sort((x, y) => x - y));
      });
    });

    describe('transactions and the change log', () => {
      it('rolls back everything when the write function throws', () => {
        const seq = b.lastChangeSeq();
        assert.throws(
          () =>
            b.write((tx) => {
              tx.add(testEntry('uid=dave,ou=People,o=Test', { objectClass: ['person'], uid: ['dave'] }, t.people));
              tx.remove(t.carol);
              const attrs = { uid: ['bob'], mail: ['x@example.com'] };
              tx.update({ id: t.bob, attrs, index: testIndexTerms(attrs) });
              throw new Error('boom');
            }),
          /boom/,
        );
        assert.equal(b.getByDnNorm('uid=dave,ou=people,o=test'), undefined);
        assert.ok(b.getById(t.carol));
        assert.deepEqual(b.getById(t.bob)!.attrs.mail, ['bob@example.com']);
        assert.deepEqual(ids(search(t.root, 'sub', { kind: 'eq', attr: 'mail', value: 'x@example.com' })), []);
        assert.deepEqual(ids(search(t.root, 'sub', { kind: 'eq', attr: 'uid', value: 'dave' })), []);
        assert.equal(b.count(), 10);
        assert.equal(b.lastChangeSeq(), seq);
      });

      it('logs every change with a monotonic sequence number', () => {
        const start = b.lastChangeSeq();
        assert.equal(start, 10); // the ten adds of the fixture
        const t0 = Date.now();
        b.write((tx) => {
          const attrs = { ...b.getById(t.bob)!.attrs, cn: ['Robert'] };
          tx.update({ id: t.bob, attrs, index: testIndexTerms(attrs) });
        });
        b.write((tx) => tx.remove(t.carol));
        const changes = b.changesSince(start);
        assert.deepEqual(
          changes.map((c) => [c.kind, c.dnNorm]),
          [
            ['modify', 'uid=bob,ou=people,o=test'],
            ['delete', 'uid=carol,ou=people,o=test'],
          ],
        );
        assert.ok(changes[0].seq > start && changes[1].seq > changes[0].seq);
        assert.ok(changes[0].time >= t0 - 1000 && changes[0].time <= Date.now() + 1000);
        assert.equal(b.lastChangeSeq(), changes[1].seq);
        assert.deepEqual(b.changesSince(start, 1).length, 1);
        assert.deepEqual(b.changesSince(start, 0), []);
        assert.deepEqual(b.changesSince(b.lastChangeSeq()), []);
        const all = b.changesSince(0);
        for (let i = 1; i < all.length; i++) assert.ok(all[i].seq > all[i - 1].seq);
      });
    });

    describe('change-log retention', () => {
      const touch = (i: number) =>
        b.write((tx) => {
          const attrs = { ...b.getById(t.bob)!.attrs, cn: [`Bob ${i}`] };
          tx.update({ id: t.bob, attrs, index: testIndexTerms(attrs) });
        });

      it('prunes by count and by age, keeps the newest record and the sequence; a reader behind the horizon sees the gap', () => {
        const start = b.lastChangeSeq();
        for (let i = 0; i < 5; i++) touch(i);
        const last = b.lastChangeSeq();
        assert.equal(last, start + 5);
        assert.equal(b.changeLogSize(), 15);
        assert.equal(b.pruneChanges({ maxAgeMs: 0, maxRecords: 0 }), 0, 'no limits: nothing goes');
        assert.equal(b.pruneChanges({ maxAgeMs: 0, maxRecords: 3 }), 12);
        assert.equal(b.changeLogSize(), 3);
        assert.deepEqual(b.changesSince(0).map((c) => c.seq), [last - 2, last - 1, last]);
        // A reader positioned at `start` finds records, but not start + 1: it is behind the pruned horizon.
        assert.notEqual(b.changesSince(start)[0].seq, start + 1);
        // Recent records are younger than an hour; an hour from now all are old, and all but the newest go.
        assert.equal(b.pruneChanges({ maxAgeMs: 3_600_000, maxRecords: 0 }), 0);
        assert.equal(b.pruneChanges({ maxAgeMs: 3_600_000, maxRecords: 0, now: Date.now() + 7_200_000 }), 2);
        assert.deepEqual(b.changesSince(0).map((c) => c.seq), [last]);
        assert.equal(b.lastChangeSeq(), last, 'the sequence never goes back');
        touch(9);
        assert.equal(b.lastChangeSeq(), last + 1);
        assert.deepEqual(b.changesSince(last).map((c) => c.seq), [last + 1], 'a reader at the newest record misses nothing');
        // The data is untouched by pruning.
        assert.deepEqual(b.getById(t.bob)!.attrs.cn, ['Bob 9']);
        assert.equal(b.count(), 10);
      });
    });

    describe('transient failures', () => {
      it('a write that cannot get the store in time fails as busy, changes nothing, and the next one works', () => {
        const other = openSecond({ busyTimeoutMs: 50 });
        try {
          const seq = b.lastChangeSeq();
          let caught: unknown;
          // While this connection's transaction is open, the other connection's write waits, then gives up.
          b.write((tx) => {
            tx.add(testEntry('uid=dave,ou=People,o=Test', { objectClass: ['person'], uid: ['dave'] }, t.people));
            try {
              other.write((tx2) => tx2.remove(t.carol));
            } catch (err) {
              caught = err;
            }
          });
          assert.ok(caught instanceof StoreError, `expected a StoreError, got ${String(caught)}`);
          assert.equal(caught.failure, 'busy');
          assert.equal(caught.transient, true);
          assert.ok(b.getById(t.carol), 'the busy write changed nothing');
          assert.equal(b.lastChangeSeq(), seq + 1);
          // Once the store is free, the same write goes through, and both connections see it.
          other.write((tx2) => tx2.remove(t.carol));
          assert.equal(b.getById(t.carol), undefined);
          assert.equal(b.changesSince(seq).length, 2);
        } finally {
          other.close();
        }
      });

      it('not found is never an error', () => {
        assert.equal(b.getByDnNorm('uid=nobody,o=test'), undefined);
        assert.equal(b.getById(987654), undefined);
        assert.equal(b.hasChildren(987654), false);
        assert.deepEqual([...search(t.root, 'sub', { kind: 'eq', attr: 'uid', value: 'nobody' })], []);
        assert.deepEqual(b.changesSince(b.lastChangeSeq() + 100), []);
      });
    });

    describe('move', () => {
      it('renames a leaf', () => {
        b.write((tx) => {
          const old = b.getById(t.bob)!;
          const attrs = { ...old.attrs, uid: ['robert'] };
          tx.move(
            { id: t.bob, newParentId: t.people, newDn: 'uid=robert,ou=People,o=Test', newDnNorm: 'uid=robert,ou=people,o=test', attrs, index: testIndexTerms(attrs) },
            old.dnNorm,
            old.dn,
          );
        });
        assert.equal(b.getByDnNorm('uid=bob,ou=people,o=test'), undefined);
        assert.equal(b.getByDnNorm('uid=robert,ou=people,o=test')!.id, t.bob);
        assert.deepEqual(ids(search(t.root, 'sub', { kind: 'eq', attr: 'uid', value: 'robert' })), [t.bob]);
        assert.deepEqual(ids(search(t.root, 'sub', { kind: 'eq', attr: 'uid', value: 'bob' })), []);
        const last = b.changesSince(b.lastChangeSeq() - 1)[0];
        assert.equal(last.kind, 'rename');
        assert.equal(last.dnNorm, 'uid=robert,ou=people,o=test');
        assert.equal(last.oldDnNorm, 'uid=bob,ou=people,o=test');
      });

      it('moves a subtree under a new parent, rewriting descendants', () => {
        const seq = b.lastChangeSeq();
        b.write((tx) => {
          const old = b.getById(t.people)!;
          tx.move(
            { id: t.people, newParentId: t.other, newDn: 'ou=Staff,o=Other', newDnNorm: 'ou=staff,o=other', attrs: { objectClass: ['organizationalUnit'], ou: ['Staff'] }, index: testIndexTerms({ objectClass: ['organizationalUnit'] }) },
            old.dnNorm,
            old.dn,
          );
        });
        const alice = b.getById(t.alice)!;
        assert.equal(alice.dnNorm, 'uid=alice,ou=staff,o=other');
        assert.equal(alice.dn, 'uid=alice,ou=Staff,o=Other');
        assert.equal(alice.parentId, t.people);
        assert.equal(b.getById(t.people)!.parentId, t.other);
        assert.equal(b.getByDnNorm('uid=alice,ou=people,o=test'), undefined);
        assert.equal(b.getByDnNorm('uid=carol,ou=staff,o=other')!.id, t.carol);
        assert.deepEqual(ids(search(t.root, 'sub', { kind: 'all' })), [t.root, t.groups, t.admins, t.staff]);
        assert.deepEqual(ids(search(t.other, 'sub', { kind: 'eq', attr: 'objectclass', value: 'posixaccount' })), [t.alice, t.bob, t.carol]);
        assert.deepEqual(ids(search(t.people, 'one', { kind: 'all' })), [t.alice, t.bob, t.carol]);
        assert.equal(dns(search(t.other, 'sub', { kind: 'eq', attr: 'uid', value: 'alice' })).length, 2);
        assert.equal(b.hasChildren(t.root), true);
        assert.equal(b.hasChildren(t.other), true);
        const renames = b.changesSince(seq);
        assert.equal(renames.length, 4);
        assert.ok(renames.every((c) => c.kind === 'rename'));
        assert.deepEqual(renames[0], { ...renames[0], dnNorm: 'ou=staff,o=other', oldDnNorm: 'ou=people,o=test' });
        assert.ok(renames.some((c) => c.dnNorm === 'uid=bob,ou=staff,o=other' && c.oldDnNorm === 'uid=bob,ou=people,o=test'));
        const order = [...b.all()];
        const pos = new Map(order.map((e, i) => [e.id, i]));
        for (const e of order) if (e.parentId !== null) assert.ok(pos.get(e.parentId)! < pos.get(e.id)!);
      });

      it('rewrites descendant DNs written with other spacing', () => {
        const deep = b.write((tx) =>
          tx.add(testEntry('cn=x, uid=alice, ou=People, o=Test', { objectClass: ['device'], cn: ['x'] }, t.alice)),
        );
        b.write((tx) => {
          const old = b.getById(t.people)!;
          tx.move(
            { id: t.people, newParentId: t.root, newDn: 'ou=Persons,o=Test', newDnNorm: 'ou=persons,o=test', attrs: old.attrs, index: [] },
            old.dnNorm,
            old.dn,
          );
        });
        const e = b.getById(deep)!;
        assert.equal(e.dnNorm, 'cn=x,uid=alice,ou=persons,o=test');
        assert.equal(e.dn, 'cn=x,uid=alice,ou=Persons,o=Test');
      });
    });

    describe('bulk load', () => {
      it('loads parents-first entries, resolving parents by DN, with progress', () => {
        const progress: number[] = [];
        const seq = b.lastChangeSeq();
        function* gen() {
          yield { ...testEntry('ou=Bulk,o=Test', { objectClass: ['organizationalUnit'] }, null), parentDnNorm: 'o=test' };
          for (let i = 0; i < 25000; i++) {
            yield {
              ...testEntry(`uid=b${i},ou=Bulk,o=Test`, { objectClass: ['person'], uid: [`b${i}`], cn: [`Bulk ${i}`] }, null),
              parentDnNorm: 'ou=bulk,o=test',
            };
          }
        }
        const n = b.bulkLoad(gen(), (k) => progress.push(k));
        assert.equal(n, 25001);
        assert.equal(b.count(), 25011);
        assert.ok(progress.length >= 2 && progress[progress.length - 1] === 25001);
        const bulk = b.getByDnNorm('ou=bulk,o=test')!;
        assert.equal(bulk.parentId, t.root);
        assert.equal(b.getByDnNorm('uid=b24999,ou=bulk,o=test')!.parentId, bulk.id);
        assert.deepEqual(dns(search(t.root, 'sub', { kind: 'eq', attr: 'uid', value: 'b777' })), ['uid=b777,ou=bulk,o=test']);
        assert.equal(ids(search(bulk.id, 'one', { kind: 'all' })).length, 25000);
        // Export order over many chunks: every entry once, parents first.
        const seen = new Set<number>();
        for (const e of b.all()) {
          assert.ok(!seen.has(e.id));
          if (e.parentId !== null) assert.ok(seen.has(e.parentId), `${e.dn} before its parent`);
          seen.add(e.id);
        }
        assert.equal(seen.size, 25011);
        // A load into a store that already has entries is logged like any write.
        const log = b.changesSince(seq, 30000);
        assert.equal(log.length, 25001);
        assert.ok(log.every((c) => c.kind === 'add'));
      });

      it('loads into an empty store and rolls back entirely on an error', () => {
        b.close();
        cleanup();
        b = open();
        function* good() {
          yield { ...testEntry('o=Fresh', { objectClass: ['organization'] }, null), parentDnNorm: null };
          for (let i = 0; i < 100; i++) {
            yield { ...testEntry(`uid=f${i},o=Fresh`, { objectClass: ['person'], uid: [`f${i}`] }, null), parentDnNorm: 'o=fresh' };
          }
        }
        assert.equal(b.bulkLoad(good()), 101);
        assert.deepEqual(dns(search(b.getByDnNorm('o=fresh')!.id, 'sub', { kind: 'eq', attr: 'uid', value: 'f42' })), ['uid=f42,o=fresh']);
        // Into an empty store the log may stay empty (nobody can have read the store before) but never goes back.
        assert.ok(b.lastChangeSeq() >= 0);
        const afterLoad = b.lastChangeSeq();
        function* bad() {
          yield { ...testEntry('ou=More,o=Fresh', { objectClass: ['organizationalUnit'] }, null), parentDnNorm: 'o=fresh' };
          throw new Error('bad record at line 7');
        }
        assert.throws(() => b.bulkLoad(bad()), /line 7/);
        assert.equal(b.getByDnNorm('ou=more,o=fresh'), undefined);
        assert.equal(b.count(), 101);
        assert.equal(b.lastChangeSeq(), afterLoad);
        function* orphan() {
          yield { ...testEntry('uid=x,ou=Missing,o=Fresh', { uid: ['x'] }, null), parentDnNorm: 'ou=missing,o=fresh' };
        }
        assert.throws(() => b.bulkLoad(orphan()), /parent/);
        assert.equal(b.count(), 101);
      });

      it('answers getByDnNorm and hasChildren about what it loaded while a load runs', () => {
        b.close();
        cleanup();
        b = open();
        const seen: Array<[string, boolean, boolean]> = [];
        const backend = b;
        function* checked() {
          yield { ...testEntry('o=Live', { objectClass: ['organization'] }, null), parentDnNorm: null };
          for (let i = 0; i < 3; i++) {
            // An importer checks each record against what is already loaded (parents first, no duplicates).
            const parent = backend.getByDnNorm('o=live');
            seen.push([parent?.dnNorm ?? '', backend.getByDnNorm(`uid=l${i},o=live`) !== undefined, parent ? backend.hasChildren(parent.id) : false]);
            yield { ...testEntry(`uid=l${i},o=Live`, { uid: [`l${i}`] }, null), parentDnNorm: 'o=live' };
          }
        }
        assert.equal(b.bulkLoad(checked()), 4);
        assert.deepEqual(seen, [
          ['o=live', false, false],
          ['o=live', false, true],
          ['o=live', false, true],
        ]);
        assert.equal(b.getByDnNorm('uid=l2,o=live')!.parentId, b.getByDnNorm('o=live')!.id);
        assert.equal(b.hasChildren(b.getByDnNorm('o=live')!.id), true);
      });

      it('an empty store rolls back a failed first load, indexes included', () => {
        b.close();
        cleanup();
        b = open();
        function* dup() {
          yield { ...testEntry('o=Dup', { objectClass: ['organization'] }, null), parentDnNorm: null };
          yield { ...testEntry('O=dup', { objectClass: ['organization'] }, null), parentDnNorm: null };
        }
        assert.throws(() => b.bulkLoad(dup()), /duplicate/);
        assert.equal(b.count(), 0);
        const id = b.write((tx) => tx.add(testEntry('o=Dup', { objectClass: ['organization'], uid: ['z'] }, null)));
        assert.throws(() => b.write((tx) => tx.add(testEntry('o=DUP', {}, null))));
        assert.deepEqual(ids(b.search({ base: b.getById(id)!, scope: 'sub', candidates: { kind: 'eq', attr: 'uid', value: 'z' } })), [id]);
      });
    });
  });
}
