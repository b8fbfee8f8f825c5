import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { comparableDn, describeResult, parseLdif, requirePrograms, runClient } from '../support/clients';
import { ISPD_CLI } from '../support/ispd-process';
import { DEMO_LDIF, makeTempDir } from '../support/server-process';
import { slapdConfig } from '../support/slapd-process';

/**
 * The demo directory (src/provision/demo-data.ldif) must stay loadable by the reference server with
 * schema checking on, and what ispd exports of it must load into slapd again: the data and ispd's
 * LDIF are the interface an operator moving between the two relies on.
 */
describe('interop: demo data with OpenLDAP slapadd/slapcat and ispd import/export', function () {
  this.timeout(60000);
  let dir: string;
  let confFile: string;

  before(function () {
    requirePrograms(this, 'slapadd', 'slapcat');
    dir = makeTempDir('interop-demo');
    fs.mkdirSync(path.join(dir, 'db'));
    confFile = path.join(dir, 'slapd.conf');
    fs.writeFileSync(confFile, slapdConfig(dir));
  });

  after(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const demoEntries = parseLdif(fs.readFileSync(DEMO_LDIF, 'utf8'));
  const normalizeDn = comparableDn;

  it('slapadd loads the demo data with schema checking on (no -s)', async () => {
    const result = await runClient('slapadd', ['-u', '-f', confFile, '-l', DEMO_LDIF], { timeoutMs: 30000 });
    assert.equal(result.code, 0, describeResult(result));
  });

  it('ispd import loads the demo data without --relaxed, and ispd export writes it all back', async () => {
    const dbFile = path.join(dir, 'ispd.sqlite');
    const load = await runClient(process.execPath, [ISPD_CLI, 'import', '--db', dbFile, DEMO_LDIF], { timeoutMs: 30000 });
    assert.equal(load.code, 0, describeResult(load));
    const dump = await runClient(process.execPath, [ISPD_CLI, 'export', '--db', dbFile], { timeoutMs: 30000 });
    assert.equal(dump.code, 0, describeResult(dump));
    const exported = parseLdif(dump.stdout);
    assert.deepEqual(exported.map((entry) => normalizeDn(entry.dn)).sort(), demoEntries.map((entry) => normalizeDn(entry.dn)).sort());
    const exportFile = path.join(dir, 'export.ldif');
    fs.writeFileSync(exportFile, dump.stdout);

    // what ispd exports loads into slapd with schema checking, and slapcat gives back the same entries
    const slapadd = await runClient('slapadd', ['-f', confFile, '-l', exportFile], { timeoutMs: 30000 });
    assert.equal(slapadd.code, 0, describeResult(slapadd));
    const slapcat = await runClient('slapcat', ['-f', confFile], { timeoutMs: 30000 });
    assert.equal(slapcat.code, 0, describeResult(slapcat));
    const fromSlapd = new Map(parseLdif(slapcat.stdout).map((entry) => [normalizeDn(entry.dn), entry.attributes]));
    for (const entry of demoEntries) {
      const attributes = fromSlapd.get(normalizeDn(entry.dn));
      assert.ok(attributes, `slapcat lacks ${entry.dn}`);
      for (const [name, values] of entry.attributes) {
        if (name === 'objectclass') continue; // slapd and ispd may spell class names differently
        assert.deepEqual([...(attributes.get(name) ?? [])].sort(), [...values].sort(), `${entry.dn}: ${name}`);
      }
    }
  });

  it("keeps the article's printed 4unet.net DNS entries and values as printed (SOA without serial)", () => {
    const byDn = new Map(demoEntries.map((entry) => [normalizeDn(entry.dn), entry.attributes]));
    const records = (cn: string): string[] => byDn.get(`cn=${cn},ou=dnsdata,domain=4unet.net,o=ispman`)?.get('record') ?? [];
    assert.deepEqual(records('nsrecords'), ['@,ns1.4unet.net', '@,ns2.4unet.net']);
    assert.deepEqual(records('mxrecords'), ['@,10, mx1.4unet.net', '@,100, mx2.4unet.net']);
    assert.deepEqual(records('arecords'), ['ns1, 193.247.80.43', 'ns2, 193.247.80.44', '@,193.247.80.43', '@,193.247.80.44']);
    assert.deepEqual(records('cnames'), ['ftp, www', 'mail, www', '*, www']);
    const soa = byDn.get('cn=soarecords,ou=dnsdata,domain=4unet.net,o=ispman');
    assert.ok(soa);
    assert.deepEqual(
      ['primary', 'rootmail', 'refresh', 'retry', 'expire', 'minimum'].map((name) => soa.get(name)?.[0]),
      ['ns1.4unet.net', 'dnsmaster.4unet.net', '21600', '1800', '1209600', '432000'],
    );
    assert.equal(soa.has('serial'), false);
    const bob = byDn.get('uid=bob_developer_ch,ou=users,domain=developer.ch,o=ispman');
    assert.deepEqual(bob?.get('mailacceptinggeneralid'), ['bob@developer.ch']);
    assert.deepEqual(bob?.get('maildrop'), ['bob@mail5.developer.ch']);
  });
});
