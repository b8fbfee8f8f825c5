// The entry cache must never serve an entry older than what the store holds: after our own writes, after
// another connection's (another LDAP worker, a CLI command), across renames and deletes, and when the
// change log has a gap. Two backends on one file stand for two processes.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { testEntry } from '../../backends/conformance';
import { openSqliteBackend, type SqliteBackend } from '../../backends/sqlite';

describe('sqlite entry cache', function () {
  this.timeout(30000);
  let tmp: string;
  let a: SqliteBackend;
  let b: SqliteBackend;
  let userId: number;
  beforeEach(() => {
    tmp = fs.mkdtempSync(os.tmpdir() + '/ispd-entry-cache-');
    const file = path.join(tmp, 'db.sqlite');
    a = openSqliteBackend(file);
    a.write((tx) => {
      const root = tx.add(testEntry('o=Test', { objectClass: ['organization'], o: ['Test'] }, null));
      const people = tx.add(testEntry('ou=People,o=Test', { objectClass: ['organizationalUnit'], ou: ['People'] }, root));
      userId = tx.add(testEntry('uid=bob,ou=People,o=Test', { objectClass: ['account'], uid: ['bob'], userPassword: ['old'] }, people));
    });
    b = openSqliteBackend(file);
  });
  afterEach(() => {
    a.close();
    b.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const password = (s: SqliteBackend, dn = 'uid=bob,ou=people,o=test') => s.getByDnNorm(dn)?.attrs.userPassword;

  it('serves the same frozen object while nothing changes', () => {
    const first = a.getByDnNorm('uid=bob,ou=people,o=test');
    assert.ok(first);
    assert.equal(a.getByDnNorm('uid=bob,ou=people,o=test'), first);
    assert.equal(a.getById(userId), first);
    assert.ok(Object.isFrozen(first) && Object.isFrozen(first.attrs) && Object.isFrozen(first.attrs.userPassword));
    assert.throws(() => (first.attrs.userPassword as string[]).push('x'), TypeError);
  });

  it('sees its own writes', () => {
    assert.deepEqual(password(a), ['old']);
    a.write((tx) => tx.update({ id: userId, attrs: { objectClass: ['account'], uid: ['bob'], userPassword: ['new'] }, index: [] }));
    assert.deepEqual(password(a), ['new']);
  });

  it('sees another connection’s update, rename and delete', () => {
    assert.deepEqual(password(a), ['old']);
    assert.equal(a.getById(userId)?.dn, 'uid=bob,ou=People,o=Test');
    b.write((tx) => tx.update({ id: userId, attrs: { objectClass: ['account'], uid: ['bob'], userPassword: ['new'] }, index: [] }));
    assert.deepEqual(password(a), ['new']);
    assert.deepEqual(a.getById(userId)?.attrs.userPassword, ['new']);

    b.write((tx) => {
      const before = tx.getByDnNorm('uid=bob,ou=people,o=test')!;
      tx.move(
        { id: before.id, newParentId: before.parentId, newDn: 'uid=robert,ou=People,o=Test', newDnNorm: 'uid=robert,ou=people,o=test', attrs: { ...before.attrs, uid: ['robert'] }, index: [] },
        before.dnNorm,
        before.dn,
      );
    });
    assert.equal(a.getByDnNorm('uid=bob,ou=people,o=test'), undefined);
    assert.equal(a.getById(userId)?.dn, 'uid=robert,ou=People,o=Test');
    assert.deepEqual(password(a, 'uid=robert,ou=people,o=test'), ['new']);

    b.write((tx) => tx.remove(userId));
    assert.equal(a.getById(userId), undefined);
    assert.equal(a.getByDnNorm('uid=robert,ou=people,o=test'), undefined);
  });

  it('starts over when the change log has a gap', () => {
    assert.deepEqual(password(a), ['old']);
    b.write((tx) => tx.update({ id: userId, attrs: { objectClass: ['account'], uid: ['bob'], userPassword: ['new'] }, index: [] }));
    // Pruning the log (as a future retention job would) must not leave the cache behind.
    const raw = new (require('better-sqlite3'))(path.join(tmp, 'db.sqlite'));
    raw.exec('DELETE FROM changes');
    raw.close();
    b.write((tx) => tx.update({ id: userId, attrs: { objectClass: ['account'], uid: ['bob'], userPassword: ['newer'] }, index: [] }));
    assert.deepEqual(password(a), ['newer']);
  });

  it('can be turned off', () => {
    const c = openSqliteBackend(path.join(tmp, 'db.sqlite'), { entryCacheSize: 0 });
    try {
      const first = c.getByDnNorm('uid=bob,ou=people,o=test');
      assert.notEqual(c.getByDnNorm('uid=bob,ou=people,o=test'), first);
      assert.ok(!Object.isFrozen(first));
    } finally {
      c.close();
    }
  });
});
