// `ispd import` as an operator runs it (a real process): all or nothing when a record half-way through the
// file is bad, whichever thread found it (the reading worker checks records on their own, the loading thread
// the order: duplicates and parents); the same messages as the in-process import; and a kill -9 in the
// middle of a load leaves the store as it was.

import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { importLdif } from '../../src/cli/import';
import { Progress } from '../../src/cli/progress';
import { loadConfig } from '../../src/config/load';
import { openStore } from '../../src/server';
import { describeResult } from '../support/clients';
import { makeTempDir } from '../support/server-process';
import { ISPD_CLI, importInto, ispd, writePeopleLdif } from './ops-tools';

/** Entries before the bad record: several batches of the reading worker, both raw and checked ones. */
const BEFORE = 3000;

function person(i: number, extra = ''): string {
  return `dn: uid=u${i},ou=people,o=ispman\nobjectClass: inetOrgPerson\nuid: u${i}\ncn: User ${i}\nsn: ${i}\n${extra}`;
}

/** o=ispman, ou=people, BEFORE people, then `bad`, then 100 more people. Returns the bad record's line. */
function writeWithBadRecord(file: string, bad: string): number {
  const head = ['dn: o=ispman\nobjectClass: organization\no: ispman\n', 'dn: ou=people,o=ispman\nobjectClass: organizationalUnit\nou: people\n'];
  for (let i = 0; i < BEFORE; i++) head.push(person(i));
  const before = head.join('\n') + '\n';
  const tail: string[] = [];
  for (let i = BEFORE; i < BEFORE + 100; i++) tail.push(person(i));
  fs.writeFileSync(file, before + bad + '\n' + tail.join('\n'));
  return before.split('\n').length;
}

async function exportedDns(db: string): Promise<string[]> {
  const r = await ispd(['export', '--db', db]);
  assert.equal(r.code, 0, describeResult(r));
  return r.stdout.match(/^dn: .*$/gm) ?? [];
}

/** The message the in-process import (importLdif, one thread) gives for the same file. */
async function inProcessError(dir: string, ldif: string): Promise<string> {
  const config = loadConfig(['--db', path.join(dir, `in-process-${path.basename(ldif)}.sqlite`)], {});
  const store = openStore(config);
  try {
    await importLdif(store, fs.createReadStream(ldif), ldif, { relaxed: false, progress: new Progress('import', fs.createWriteStream('/dev/null')) });
  } catch (err) {
    assert.equal(store.backend.count(), 0, 'the in-process import rolled back too');
    return (err as Error).message;
  } finally {
    store.backend.close();
  }
  throw new Error('the in-process import succeeded');
}

describe('ispd import: all or nothing, same messages, kill -9', function () {
  this.timeout(120000);
  let dir: string;

  before(() => (dir = makeTempDir('import')));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const cases: Array<{ name: string; bad: string; message: (file: string, line: number) => RegExp }> = [
    {
      name: 'a schema violation (checked record by record, in either thread)',
      bad: 'dn: uid=bad,ou=people,o=ispman\nobjectClass: inetOrgPerson\nuid: bad\ncn: Bad\n',
      message: (file, line) => new RegExp(`^${escape(file)}:${line}: dn: uid=bad,ou=people,o=ispman: .*sn.*\\(objectClassViolation\\)$`),
    },
    {
      name: 'a duplicate DN (checked by the loading thread)',
      bad: 'dn: UID=u17,ou=people,o=ispman\nobjectClass: inetOrgPerson\nuid: u17\ncn: Again\nsn: again\n',
      message: (file, line) => new RegExp(`^${escape(file)}:${line}: dn: UID=u17,ou=people,o=ispman: entry already exists$`),
    },
    {
      name: 'a missing parent',
      bad: 'dn: uid=orphan,ou=nowhere,o=ispman\nobjectClass: inetOrgPerson\nuid: orphan\ncn: O\nsn: O\n',
      message: (file, line) => new RegExp(`^${escape(file)}:${line}: dn: uid=orphan,ou=nowhere,o=ispman: parent entry does not exist \\(parents must come first\\)$`),
    },
    {
      name: 'a change record other than add',
      bad: 'dn: uid=u5,ou=people,o=ispman\nchangetype: modify\nreplace: cn\ncn: X\n-\n',
      message: (file, line) => new RegExp(`^${escape(file)}:${line}: changetype modify is not supported by import \\(use ldapmodify\\)$`),
    },
    {
      name: 'an LDIF syntax error',
      bad: 'dn: uid=broken,ou=people,o=ispman\nobjectClass inetOrgPerson\n',
      message: (_file, line) => new RegExp(`^line ${line + 1}: expected "attribute: value"`),
    },
  ];

  for (const c of cases) {
    it(`${c.name} ${BEFORE} records in: exit 1, the line named, nothing imported, the message of the in-process import`, async () => {
      const ldif = path.join(dir, `${c.name.replace(/\W+/g, '-')}.ldif`);
      const line = writeWithBadRecord(ldif, c.bad);
      const db = path.join(dir, `${path.basename(ldif)}.sqlite`);
      const r = await ispd(['import', '--db', db, ldif]);
      assert.equal(r.code, 1, describeResult(r));
      const last = r.stderr.trim().split('\n').pop()!;
      assert.ok(last.startsWith('ispd import: '), describeResult(r));
      const message = last.slice('ispd import: '.length);
      assert.match(message, c.message(ldif, line));
      assert.equal(message, await inProcessError(dir, ldif));
      assert.deepEqual(await exportedDns(db), []);
      // The store is usable: the same file without the bad record loads completely.
      const good = path.join(dir, 'good.ldif');
      writePeopleLdif(good, 10);
      await importInto(db, good);
      assert.equal((await exportedDns(db)).length, 12);
    });
  }

  /** Starts an import and SIGKILLs it once it has reported loading at least 10,000 entries. */
  async function killMidLoad(db: string, ldif: string): Promise<void> {
    const child = spawn(process.execPath, [ISPD_CLI, 'import', '--db', db, ldif], { env: { ...process.env, ISPD_PROGRESS_INTERVAL: '0.01' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
    await new Promise<void>((resolve, reject) => {
      child.stderr!.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (/import load: [1-9]\d{4,}/.test(stderr)) resolve();
      });
      child.once('exit', () => reject(new Error(`import ended before it was killed:\n${stderr}`)));
    });
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL', `killed in the middle of the load:\n${stderr}`);
  }

  it('kill -9 in the middle of a load into an empty store: the store is empty and loads again', async () => {
    const ldif = path.join(dir, 'many.ldif');
    writePeopleLdif(ldif, 150_000);
    const db = path.join(dir, 'killed-fresh.sqlite');
    await killMidLoad(db, ldif);
    assert.deepEqual(await exportedDns(db), []);
    const small = path.join(dir, 'small.ldif');
    writePeopleLdif(small, 5);
    await importInto(db, small);
    assert.equal((await exportedDns(db)).length, 7);
  });

  it('kill -9 in the middle of a load into a store with entries: exactly the old entries are there', async () => {
    const db = path.join(dir, 'killed-live.sqlite');
    const first = path.join(dir, 'first.ldif');
    writePeopleLdif(first, 20);
    await importInto(db, first);
    const before = await exportedDns(db);
    assert.equal(before.length, 22);
    // More people below the existing ou=people (the first two records of the file are left out).
    const more = path.join(dir, 'more.ldif');
    const parts: string[] = [];
    for (let i = 1000; i < 151_000; i++) parts.push(person(i));
    fs.writeFileSync(more, parts.join('\n'));
    await killMidLoad(db, more);
    assert.deepEqual(await exportedDns(db), before);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
