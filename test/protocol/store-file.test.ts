// A database file ispd cannot use is a configuration problem (issue 13): `ispd serve` exits 2 with one
// line that names the file and the fix, instead of exit 1 with SQLite's bare message. Damage to an index
// page is found at start by the bounded quick check (startCheck) and refused.
// Client: the ispd command itself (spawned as the operator runs it; the read-only case as user nobody,
// since root writes read-only files).

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { describeResult, runClient, type ClientResult } from '../support/clients';
import { ISPD_CLI } from '../support/ispd-process';
import { pickFreePort } from '../support/ports';
import { DEMO_LDIF, makeTempDir } from '../support/server-process';

const NOBODY = 65534;

describe('protocol: a read-only, foreign or damaged database file (ispd serve exits 2, naming the file and the fix)', function () {
  this.timeout(120_000);
  const dir = makeTempDir('store-file');
  const good = path.join(dir, 'good.sqlite');

  const serve = async (db: string, extra: string[] = [], uid?: number): Promise<ClientResult> => {
    const args = [ISPD_CLI, 'serve', '--db', db, '--ldap', `127.0.0.1:${await pickFreePort()}`, '--dns', `127.0.0.1:${await pickFreePort({ udp: true })}`,
      '--metrics', `127.0.0.1:${await pickFreePort()}`, '--set', 'ldap.workers=1', ...extra];
    if (uid === undefined) return runClient(process.execPath, args, { timeoutMs: 30_000 });
    // setpriv (util-linux) drops to the user for the whole process, as a service manager would.
    return runClient('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', process.execPath, ...args], { timeoutMs: 30_000 });
  };
  const copy = (name: string): string => {
    const file = path.join(dir, name);
    fs.copyFileSync(good, file);
    return file;
  };

  before(async () => {
    fs.chmodSync(dir, 0o755);
    const load = await runClient(process.execPath, [ISPD_CLI, 'import', '--db', good, DEMO_LDIF], { timeoutMs: 60_000 });
    assert.equal(load.code, 0, describeResult(load));
    assert.ok(!fs.existsSync(`${good}-wal`) || fs.statSync(`${good}-wal`).size === 0, 'import leaves a checkpointed file');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a file the server user cannot write: exit 2, names the file and says to make it writable', async () => {
    const sub = path.join(dir, 'ro');
    fs.mkdirSync(sub);
    const db = path.join(sub, 'ispd.sqlite');
    fs.copyFileSync(good, db);
    fs.chmodSync(db, 0o444);
    fs.chmodSync(sub, 0o777);
    const r = await serve(db, [], NOBODY);
    assert.equal(r.code, 2, describeResult(r));
    assert.match(r.stderr, new RegExp(`${db.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} cannot be written`));
    assert.match(r.stderr, /writable by uid 65534/);
    assert.equal(r.stderr.trim().split('\n').length, 1, 'one line');
  });

  it('a file that is not a database: exit 2, names the file', async () => {
    const db = path.join(dir, 'garbage.sqlite');
    fs.writeFileSync(db, Buffer.alloc(64 * 1024, 'not a database '));
    const r = await serve(db);
    assert.equal(r.code, 2, describeResult(r));
    assert.match(r.stderr, new RegExp(`${db.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not an SQLite database`));
  });

  it('a damaged index page is found by the start check: exit 2 with the damage, the file and the fix; startCheck=off starts into the damage and still names the file', async () => {
    const db = copy('damaged.sqlite');
    const meta = new Database(db, { readonly: true });
    const { rootpage } = meta.prepare("SELECT rootpage FROM sqlite_schema WHERE type = 'index' AND name = 'entries_dn_norm'").get() as { rootpage: number };
    const pageSize = meta.pragma('page_size', { simple: true }) as number;
    meta.close();
    // Overwrite the index's root page, as a torn write or a bad sector would leave it.
    const fd = fs.openSync(db, 'r+');
    fs.writeSync(fd, Buffer.alloc(pageSize, 0xa5), 0, pageSize, (rootpage - 1) * pageSize);
    fs.closeSync(fd);

    const started = Date.now();
    const r = await serve(db);
    assert.equal(r.code, 2, describeResult(r));
    assert.match(r.stderr, /the database file .*damaged\.sqlite is damaged: Tree \d+ page \d+/);
    assert.match(r.stderr, /ispd export --db .*damaged\.sqlite/);
    assert.ok(Date.now() - started < 20_000, 'the check is quick');

    const off = await serve(db, ['--set', 'startCheck=off']);
    assert.equal(off.code, 2, describeResult(off));
    assert.match(off.stderr, /the database file .*damaged\.sqlite is damaged \(database disk image is malformed\)/);
  });

  it('a sound file passes the check: logged, and ispd serves (exit 0 on SIGTERM)', async () => {
    const db = copy('sound.sqlite');
    const child = require('node:child_process').spawn(process.execPath, [ISPD_CLI, 'serve', '--db', db, '--ldap', `127.0.0.1:${await pickFreePort()}`,
      '--dns', `127.0.0.1:${await pickFreePort({ udp: true })}`, '--metrics', `127.0.0.1:${await pickFreePort()}`, '--set', 'ldap.workers=1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (out += d));
    const deadline = Date.now() + 30_000;
    while (!/"msg":"ready"/.test(out) && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGTERM');
    const code = await new Promise((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', resolve)));
    assert.match(out, /"msg":"store check: ok"/, out);
    assert.equal(code, 0, out);
  });
});
