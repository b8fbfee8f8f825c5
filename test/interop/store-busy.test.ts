// The store's transient failures reach clients as LDAP result codes (backends/errors.ts): while another
// process holds SQLite's write lock past busyTimeoutMs, ldapmodify gets busy (51) and nothing changes; once
// the lock is gone the same write succeeds. Reads go on meanwhile (WAL: readers never wait for the writer).

import * as assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { describeResult, requirePrograms, runClient } from '../support/clients';
import { startIspd, type IspdHandle } from '../support/ispd-process';
import { ADMIN } from './fixtures';

const TARGET = 'uid=bob_example_com,ou=users,ispmanDomain=example.com,o=ispman';

describe('interop: a busy store answers LDAP busy (51), then recovers (ldapmodify, ldapsearch)', function () {
  this.timeout(60000);
  let server: IspdHandle;

  before(async function () {
    requirePrograms(this, 'ldapmodify', 'ldapsearch');
    server = await startIspd({ config: ['--set', 'busyTimeoutMs=200', '--set', 'ldap.workers=1', '--dns', 'off'] });
  });
  after(async () => {
    await server?.stop();
  });

  const modify = (value: string) =>
    runClient('ldapmodify', ['-x', '-H', server.ldapUrl, '-D', ADMIN.dn, '-w', ADMIN.password], {
      input: `dn: ${TARGET}\nchangetype: modify\nreplace: mailHost\nmailHost: ${value}\n`,
    });
  const mailHost = async () => {
    const r = await runClient('ldapsearch', ['-x', '-LLL', '-H', server.ldapUrl, '-D', ADMIN.dn, '-w', ADMIN.password, '-b', TARGET, '-s', 'base', 'mailHost']);
    assert.equal(r.code, 0, describeResult(r));
    return /mailHost: (\S+)/.exec(r.stdout)?.[1];
  };

  it('busy while another process holds the write lock; the write goes through after', async () => {
    const before = await mailHost();
    assert.ok(before, 'the demo user has a mailHost');
    const other = new Database(server.dbFile, { timeout: 0 });
    try {
      other.exec('BEGIN IMMEDIATE'); // what an import or another writer holds while it writes
      const busy = await modify('busy.example.com');
      assert.equal(busy.code, 51, describeResult(busy)); // ldapmodify exits with the result code
      assert.match(busy.stderr, /busy/i);
      assert.equal(await mailHost(), before, 'reads go on; the refused write changed nothing');
      other.exec('ROLLBACK');
    } finally {
      other.close();
    }
    const ok = await modify('mail9.example.com');
    assert.equal(ok.code, 0, describeResult(ok));
    assert.equal(await mailHost(), 'mail9.example.com');
  });
});
