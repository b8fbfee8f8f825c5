import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { testEntry, testIndexTerms } from '../../backends/conformance';
import { openSqliteBackend, SqliteBackend } from '../../backends/sqlite';
import { pathOfDnNorm, rebaseDn, splitDn } from '../../backends/sqlite/path';
import type { Candidates, Scope } from '../../backends/types';

describe('sqlite backend', function () {
  this.timeout(30000);
  let tmp: string;
  beforeEach(() => {
    tmp = fs.mkdtempSync(os.tmpdir() + '/ispd-store-');
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  describe('DN paths', () => {
    it('splits DNs on unescaped separators only', () => {
      assert.deepEqual(splitDn('uid=a,ou=users,o=ispman'), ['uid=a', 'ou=users', 'o=ispman']);
      assert.deepEqual(splitDn('cn=a\\2cb,o=x'), ['cn=a\\2cb', 'o=x']);
      assert.deepEqual(splitDn('cn=a\\,b, o=x'), ['cn=a\\,b', 'o=x']);
      assert.deepEqual(splitDn('cn="a,b";o=x'), ['cn="a,b"', 'o=x']);
      assert.deepEqual(splitDn('cn=a\\\\,o=x'), ['cn=a\\\\', 'o=x']);
      assert.deepEqual(splitDn(''), []);
    });

    it('builds root-first paths', () => {
      assert.equal(pathOfDnNorm('uid=a,ou=users,o=ispman'), 'o=ispman\u0001ou=users\u0001uid=a');
      assert.equal(pathOfDnNorm('cn=a\\2cb,o=x'), 'o=x\u0001cn=a\\2cb');
      // The same RDNs whichever way the DN is split (fast path or escape-aware).
      assert.equal(pathOfDnNorm('cn=a;b,o=x'), 'o=x\u0001cn=a;b');
      assert.equal(pathOfDnNorm('cn=a;b\\2c,o=x'), 'o=x\u0001cn=a;b\\2c');
      assert.equal(pathOfDnNorm('o=ispman'), 'o=ispman');
      // Raw control characters cannot collide with the separator.
      assert.equal(pathOfDnNorm('cn=a\u0001b,o=x'), 'o=x\u0001cn=a\\01b');
    });

    it('rebases user-form DNs', () => {
      assert.equal(rebaseDn('uid=a, ou=Users, o=X', 'ou=Users, o=X', 'ou=People,o=Y', 1), 'uid=a, ou=People,o=Y');
      assert.equal(rebaseDn('uid=a,OU=users,o=x', 'ou=Users, o=X', 'ou=People,o=Y', 1), 'uid=a,ou=People,o=Y');
      assert.equal(rebaseDn('cn=b\\,c,uid=a,OU=users,o=x', 'ou=Users,o=X', 'ou=P,o=Y', 2), 'cn=b\\,c,uid=a,ou=P,o=Y');
    });
  });

  describe('storage', () => {
    it('keeps data across reopen, in WAL mode with synchronous FULL', () => {
      const file = path.join(tmp, 'db.sqlite');
      const b = openSqliteBackend(file);
      const id = b.write((tx) => tx.add(testEntry('o=Keep', { objectClass: ['organization'], uid: ['k'] }, null)));
      b.close();
      const again = openSqliteBackend(file);
      assert.equal(again.getById(id)!.dnNorm, 'o=keep');
      assert.equal(again.count(), 1);
      assert.equal(again.lastChangeSeq(), 1);
      const root = again.getById(id)!;
      assert.deepEqual([...again.search({ base: root, scope: 'sub', candidates: { kind: 'eq', attr: 'uid', value: 'k' } })].map((e) => e.id), [id]);
      again.close();
      const Database = require('better-sqlite3');
      const raw = new Database(file, { readonly: true });
      assert.equal(raw.pragma('journal_mode', { simple: true }), 'wal');
      raw.close();
    });

    it('ignores terms of attributes that are not indexed and widens candidates on them', () => {
      const b = openSqliteBackend(path.join(tmp, 'db.sqlite'), { indexedAttributes: ['uid'] });
      const root = b.write((tx) => {
        const r = tx.add(testEntry('o=T', { objectClass: ['organization'] }, null));
        tx.add(testEntry('uid=a,o=T', { objectClass: ['person'], uid: ['a'], cn: ['A'] }, r));
        tx.add(testEntry('uid=b,o=T', { objectClass: ['person'], uid: ['b'], cn: ['B'] }, r));
        return r;
      });
      const base = b.getById(root)!;
      const found = (c: Candidates) => [...b.search({ base, scope: 'sub', candidates: c })].map((e) => e.dnNorm);
      assert.deepEqual(found({ kind: 'eq', attr: 'uid', value: 'a' }), ['uid=a,o=t']);
      // cn is not indexed here: every entry in scope is a candidate.
      assert.equal(found({ kind: 'eq', attr: 'cn', value: 'a' }).length, 3);
      b.close();
    });

    it('does not trust an attribute added to the index list until reindex() has filled it', () => {
      const file = path.join(tmp, 'db.sqlite');
      const terms = (e: { attrs: Record<string, string[]> }) => testIndexTerms(e.attrs);
      let b = openSqliteBackend(file, { indexedAttributes: ['uid'] });
      const root = b.write((tx) => {
        const r = tx.add(testEntry('o=T', { objectClass: ['organization'] }, null));
        tx.add(testEntry('uid=a,o=T', { uid: ['a'], cn: ['A'] }, r));
        tx.add(testEntry('uid=b,o=T', { uid: ['b'], cn: ['B'] }, r));
        return r;
      });
      assert.deepEqual(b.pendingIndexes(), []);
      b.close();
      const cnA = (backend: SqliteBackend) =>
        [...backend.search({ base: backend.getById(root)!, scope: 'sub', candidates: { kind: 'eq', attr: 'cn', value: 'a' } })].map((e) => e.dnNorm);
      b = openSqliteBackend(file, { indexedAttributes: ['uid', 'cn'] });
      assert.deepEqual(b.pendingIndexes(), ['cn']);
      b.write((tx) => tx.add(testEntry('uid=c,o=T', { uid: ['c'], cn: ['A'] }, root)));
      // The old entries have no cn rows: cn=a must not answer from the index (it would miss uid=a).
      assert.equal(cnA(b).length, 4);
      assert.equal(b.reindex(terms), 4);
      assert.deepEqual(b.pendingIndexes(), []);
      assert.deepEqual(cnA(b), ['uid=a,o=t', 'uid=c,o=t']);
      b.close();
      b = openSqliteBackend(file, { indexedAttributes: ['uid', 'cn'] });
      assert.deepEqual(b.pendingIndexes(), []);
      assert.deepEqual(cnA(b), ['uid=a,o=t', 'uid=c,o=t']);
      b.close();
      // Dropped from the list and written meanwhile: pending again when it comes back.
      b = openSqliteBackend(file, { indexedAttributes: ['uid'] });
      b.write((tx) => tx.add(testEntry('uid=d,o=T', { uid: ['d'], cn: ['A'] }, root)));
      b.close();
      b = openSqliteBackend(file, { indexedAttributes: ['uid', 'cn'] });
      assert.deepEqual(b.pendingIndexes(), ['cn']);
      assert.equal(cnA(b).length, 5);
      b.close();
    });

    it('uses indexes, not table scans, for indexed candidates and scopes', () => {
      const b = openSqliteBackend(path.join(tmp, 'db.sqlite')) as SqliteBackend;
      b.bulkLoad(
        (function* () {
          yield { ...testEntry('o=ispman', { objectClass: ['organization'] }, null), parentDnNorm: null };
          for (let d = 0; d < 20; d++) {
            yield { ...testEntry(`ou=d${d},o=ispman`, { objectClass: ['organizationalUnit'] }, null), parentDnNorm: 'o=ispman' };
            for (let u = 0; u < 200; u++) {
              yield {
                ...testEntry(`uid=u${u}_d${d},ou=d${d},o=ispman`, { objectClass: ['top', 'person', 'posixAccount'], uid: [`u${u}_d${d}`], mail: [`u${u}@d${d}.example`] }, null),
                parentDnNorm: `ou=d${d},o=ispman`,
              };
            }
          }
        })(),
      );
      const root = b.getByDnNorm('o=ispman')!;
      const domain = b.getByDnNorm('ou=d7,o=ispman')!;
      const plan = (base: typeof root, scope: Scope, candidates: Candidates, limit?: number) =>
        b.explainSearch({ base, scope, candidates, limit }).join(' | ');
      const noScan = (p: string) => assert.ok(!/SCAN (e|s|entries|idx)\b(?! USING)/.test(p), p);
      const eq: Candidates = { kind: 'eq', attr: 'mail', value: 'u5@d7.example' };
      noScan(plan(root, 'sub', eq));
      noScan(plan(domain, 'sub', eq));
      noScan(plan(domain, 'one', { kind: 'all' }));
      noScan(plan(domain, 'sub', { kind: 'all' }));
      noScan(plan(root, 'sub', { kind: 'and', items: [{ kind: 'eq', attr: 'objectclass', value: 'posixaccount' }, { kind: 'eq', attr: 'uid', value: 'u5_d7' }] }));
      noScan(plan(root, 'sub', { kind: 'or', items: [eq, { kind: 'eq', attr: 'uid', value: 'u1_d1' }] }));
      noScan(plan(root, 'sub', { kind: 'prefix', attr: 'uid', prefix: 'u19_' }));
      // The AND is driven by its selective item: objectClass=posixAccount matches 4000 entries.
      const andPlan = plan(root, 'sub', { kind: 'and', items: [{ kind: 'eq', attr: 'objectclass', value: 'posixaccount' }, { kind: 'eq', attr: 'uid', value: 'u5_d7' }] });
      assert.match(andPlan, /SEARCH (i|idx) USING PRIMARY KEY \(attr=\? AND value=\?\)/);
      // An equality lookup streams in id order: no sort, nothing materialized.
      assert.doesNotMatch(plan(root, 'sub', eq), /TEMP B-TREE|LIST SUBQUERY/);
      assert.doesNotMatch(andPlan, /TEMP B-TREE|LIST SUBQUERY/);
      const got = [...b.search({ base: root, scope: 'sub', candidates: { kind: 'and', items: [{ kind: 'eq', attr: 'objectclass', value: 'posixaccount' }, { kind: 'eq', attr: 'uid', value: 'u5_d7' }] } })];
      assert.deepEqual(got.map((e) => e.dnNorm), ['uid=u5_d7,ou=d7,o=ispman']);
      // Paging a whole large subtree in id order works either way the planner goes.
      let after = 0;
      let total = 0;
      for (;;) {
        const page = [...b.search({ base: root, scope: 'sub', candidates: { kind: 'all' }, afterId: after, limit: 500 })];
        for (const e of page) assert.ok(e.id > after);
        total += page.length;
        if (page.length < 500) break;
        after = page[page.length - 1].id;
      }
      assert.equal(total, 1 + 20 + 20 * 200);
      b.close();
    });

    it('keeps statistics right across writes and rollbacks', () => {
      const file = path.join(tmp, 'db.sqlite');
      const b = openSqliteBackend(file);
      b.write((tx) => {
        const r = tx.add(testEntry('o=S', { objectClass: ['organization'] }, null));
        for (let i = 0; i < 50; i++) tx.add(testEntry(`uid=s${i},o=S`, { objectClass: ['person'], uid: [`s${i}`] }, r));
      });
      assert.throws(() =>
        b.write((tx) => {
          tx.add(testEntry('uid=z,o=S', { objectClass: ['person'], uid: ['z'] }, 1));
          throw new Error('no');
        }),
      );
      b.write((tx) => tx.remove(b.getByDnNorm('uid=s0,o=s')!.id));
      b.close();
      const Database = require('better-sqlite3');
      const raw = new Database(file, { readonly: true });
      const stats = Object.fromEntries(raw.prepare('SELECT attr, rows, vals FROM attr_stats').raw().all().map((r: [string, number, number]) => [r[0], [r[1], r[2]]]));
      const truth = Object.fromEntries(
        raw.prepare('SELECT attr, count(*), count(DISTINCT value) FROM idx GROUP BY attr').raw().all().map((r: [string, number, number]) => [r[0], [r[1], r[2]]]),
      );
      raw.close();
      assert.deepEqual(stats, truth);
      assert.deepEqual(truth.uid, [49, 49]);
      assert.deepEqual(truth.objectclass, [50, 2]);
    });

    it('serializes writers from two processes on one file', async () => {
      const file = path.join(tmp, 'db.sqlite');
      const b = openSqliteBackend(file);
      const root = b.write((tx) => tx.add(testEntry('o=T', { objectClass: ['organization'] }, null)));
      const child = runChild(file, root, 200, 'c');
      for (let i = 0; i < 200; i++) b.write((tx) => tx.add(testEntry(`uid=p${i},o=T`, { uid: [`p${i}`] }, root)));
      const out = await child.done;
      assert.match(out.stdout, /committed 199/);
      assert.equal(b.count(), 401);
      b.close();
    });
  });

  describe('durability', () => {
    it('every write the child reported committed survives kill -9', async () => {
      const file = path.join(tmp, 'db.sqlite');
      const b = openSqliteBackend(file);
      const root = b.write((tx) => tx.add(testEntry('o=Crash', { objectClass: ['organization'] }, null)));
      b.close();
      const child = runChild(file, root, 1_000_000, 'k');
      const reported = await new Promise<number[]>((resolve, reject) => {
        const seen: number[] = [];
        let buf = '';
        child.proc.stdout!.on('data', (chunk: Buffer) => {
          buf += chunk.toString();
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            const m = /^committed (\d+)$/.exec(line);
            if (m) seen.push(Number(m[1]));
            if (seen.length === 300) {
              child.proc.kill('SIGKILL');
              resolve(seen);
            }
          }
        });
        child.proc.on('exit', () => (seen.length >= 300 ? undefined : reject(new Error('child exited early: ' + child.stderr()))));
      });
      const exit = await child.done.catch((e: Error) => e);
      assert.ok(exit instanceof Error && /SIGKILL/.test(exit.message), String(exit));
      const again = openSqliteBackend(file);
      for (const n of reported) assert.ok(again.getByDnNorm(`uid=k${n},o=crash`), `committed entry k${n} lost`);
      const count = again.count();
      assert.ok(count >= 301, `count ${count}`);
      // The store is consistent: the index agrees with the entries.
      const indexed = [...again.search({ base: again.getById(root)!, scope: 'one', candidates: { kind: 'present', attr: 'uid' } })];
      assert.equal(indexed.length, count - 1);
      again.close();
    });
  });
});

/** A child process that adds `n` entries uid=<prefix><i> under `parentId`, printing after each commit. */
function runChild(file: string, parentId: number, n: number, prefix: string) {
  const modulePath = path.join(__dirname, '../../backends/sqlite/index.js');
  const script = `
    const { openSqliteBackend } = require(${JSON.stringify(modulePath)});
    const b = openSqliteBackend(${JSON.stringify(file)});
    for (let i = 0; i < ${n}; i++) {
      b.write((tx) => tx.add({ parentId: ${parentId}, dn: 'uid=${prefix}' + i + ',o=X', dnNorm: 'uid=${prefix}' + i + ',' + b.getById(${parentId}).dnNorm,
        attrs: { uid: ['${prefix}' + i] }, index: [{ attr: 'uid', value: '${prefix}' + i }] }));
      process.stdout.write('committed ' + i + '\\n');
    }
    b.close();
  `;
  const proc = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  proc.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  proc.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const done = new Promise<{ stdout: string }>((resolve, reject) => {
    proc.on('exit', (code, signal) => {
      if (code === 0) resolve({ stdout });
      else reject(new Error(`child exited with ${code ?? signal}: ${stderr}`));
    });
  });
  return { proc, done, stderr: () => stderr };
}

