import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { runZoneExport } from '../../src/cli/zone';
import { buildZones } from '../../src/dns/build';
import { initialSerial } from '../../src/dns/serial';
import { describeResult, requirePrograms, runClient } from '../support/clients';
import { allFixtureEntries } from './dns-fixtures.test';

describe('dns zone export (BIND master file)', function () {
  this.timeout(30000);
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ispd-dns-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const origin of buildZones(allFixtureEntries()).map((z) => z.origin)) {
    it(`${origin} is accepted by named-checkzone with the records ispd serves`, async function () {
      requirePrograms(this, 'named-checkzone');
      let text = '';
      const code = runZoneExport({ zone: origin + '.' }, { entries: allFixtureEntries(), out: { write: (t: string) => (text += t) } });
      assert.equal(code, 0);
      const file = path.join(dir, `${origin}.zone`);
      fs.writeFileSync(file, text);
      // -i local: delegation glue and the like are checked, but names out of the zone need no lookups
      const r = await runClient('named-checkzone', ['-i', 'local', '-k', 'fail', '-n', 'ignore', '-m', 'ignore', '-M', 'ignore', '-S', 'ignore', origin, file]);
      assert.equal(r.code, 0, describeResult(r) + '\n' + text);
      const loaded = Number(/loaded serial (\d+)/.exec(r.stdout)?.[1]);
      const zone = buildZones(allFixtureEntries(), { defaultSerial: initialSerial('date') }).find((z) => z.origin === origin)!;
      assert.equal(loaded, zone.serial);
    });
  }

  it('the article zone keeps the `*` CNAME and the SOA timers', () => {
    let text = '';
    runZoneExport({ zone: '4unet.net' }, { entries: allFixtureEntries(), out: { write: (t: string) => (text += t) } });
    assert.match(text, /^\*\.4unet\.net\.\t432000\tIN\tCNAME\twww\.4unet\.net\.$/m);
    assert.match(text, /^\t\t21600 ; refresh$/m);
  });

  it('an unknown zone is an error', () => {
    let err = '';
    const code = runZoneExport({ zone: 'nope.test' }, { entries: allFixtureEntries(), out: { write: () => undefined }, err: { write: (t: string) => (err += t) } });
    assert.equal(code, 1);
    assert.match(err, /nope\.test/);
  });
});
