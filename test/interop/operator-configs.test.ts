// The README cannot rot: every client configuration block in it is the tested template from
// test/interop/configs (rendered with the README's address), the metrics list and the configuration
// reference are what the code generates, and the recipes without a template (ispd as DNS primary with an
// NSD secondary, slapcat → ispd import, BIND zones via zone2ldap → ldapmodify) run here for real, taken
// from the README text itself. UPDATE_README=1 rewrites the generated sections.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { renderOptionsMarkdown } from '../../src/config/docs';
import { renderMetricsMarkdown } from '../../src/metrics/docs';
import { describeResult, parseLdif, requirePrograms, runClient } from '../support/clients';
import { renderConfig } from '../support/configs';
import { ISPD_CLI } from '../support/ispd-process';
import { pickFreePort } from '../support/ports';
import { DEMO_LDIF, REPO_ROOT, makeTempDir, startServerProcess, type ServerProcess } from '../support/server-process';
import { startSlapd } from '../support/slapd-process';
import { importInto, serve, type Served } from '../protocol/ops-tools';

const README = path.join(REPO_ROOT, 'README.md');
/** The values the README's client blocks are rendered with: ispd on the same host, port 389. */
const README_VARS = { LDAP_HOST: '127.0.0.1', LDAP_PORT: 389, LDAP_VERSION: 3, LDAP_URI: 'ldap://127.0.0.1/', BASE: 'o=ispman', BIND_DN: 'uid=ispman,ou=admins,o=ispman', BIND_PW: 'secret' };

/** The fenced block right after each `<!-- tested: NAME -->` marker. */
function testedBlocks(text: string): Map<string, string> {
  const blocks = new Map<string, string>();
  const re = /<!-- tested: (\S+) -->\n```[a-z]*\n([\s\S]*?)```/g;
  for (const m of text.matchAll(re)) {
    assert.equal(blocks.has(m[1]), false, `two README blocks are marked ${m[1]}`);
    blocks.set(m[1], m[2]);
  }
  return blocks;
}

/** Lines that configure something: comments and blank lines are free to differ (the README's explain the file). */
function settings(text: string): string[] {
  return text.split('\n').map((l) => l.trimEnd()).filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#'));
}

const GENERATED: Record<string, () => string> = { metrics: renderMetricsMarkdown, options: renderOptionsMarkdown };

function generatedSection(text: string, name: string): { start: number; end: number; body: string } {
  const begin = new RegExp(`<!-- BEGIN GENERATED ${name}[^\\n]*-->\\n`).exec(text);
  const endMarker = `<!-- END GENERATED ${name} -->`;
  assert.ok(begin, `README has no BEGIN GENERATED ${name} marker`);
  const start = begin.index + begin[0].length;
  const end = text.indexOf(endMarker, start);
  assert.ok(end > 0, `README has no ${endMarker}`);
  return { start, end, body: text.slice(start, end) };
}

/** Runs one README shell line with bash after the given literal replacements. */
async function runLine(line: string, replacements: Array<[string, string]>, cwd: string) {
  let command = line;
  for (const [from, to] of replacements) command = command.split(from).join(to);
  const r = await runClient('bash', ['-c', command], { cwd, timeoutMs: 60000 });
  assert.equal(r.code, 0, `README line: ${line}\n${describeResult(r)}`);
  return r;
}

/** `ispd` as the README spells it → this build's CLI. */
const ISPD = `${JSON.stringify(process.execPath)} ${JSON.stringify(ISPD_CLI)}`;

describe('README for operators', function () {
  this.timeout(120000);
  const text = fs.readFileSync(README, 'utf8');
  const blocks = testedBlocks(text);

  it('keeps the two opening commands', () => {
    assert.match(text, /^# ispd — the ISP directory daemon\n\n```sh\nnpm install && npm start {6}# [^\n]+\nnpm test {22}# [^\n]+\n```\n/);
  });

  it('shows each client configuration exactly as the interop suite tests it', () => {
    const templates = [...blocks.keys()].filter((name) => name.startsWith('test/interop/configs/'));
    assert.deepEqual(
      templates.sort(),
      [
        'test/interop/configs/dovecot/dovecot-ldap-proxy-password.conf.ext',
        'test/interop/configs/dovecot/dovecot-ldap-proxy.conf.ext',
        'test/interop/configs/dovecot/dovecot-ldap.conf.ext',
        'test/interop/configs/nslcd/nslcd.conf',
        'test/interop/configs/postfix/article-maildrop.cf',
        'test/interop/configs/postfix/ldap-relay-domains.cf',
        'test/interop/configs/postfix/ldap-relay-recipient-maps.cf',
        'test/interop/configs/postfix/ldap-transport-maps.cf',
        'test/interop/configs/postfix/ldap-virtual-alias-maps.cf',
        'test/interop/configs/pure-ftpd/ldap.conf',
      ],
      'the README shows the Postfix maps, nslcd.conf, the Dovecot passdbs and pure-ftpd\'s ldap.conf',
    );
    for (const name of templates) {
      const tested = renderConfig(path.relative(path.join(REPO_ROOT, 'test', 'interop', 'configs'), path.join(REPO_ROOT, name)), README_VARS);
      assert.deepEqual(settings(blocks.get(name)!), settings(tested), `README block for ${name}`);
    }
  });

  for (const name of Object.keys(GENERATED)) {
    it(`lists the ${name} the code defines (generated section)`, () => {
      const current = fs.readFileSync(README, 'utf8');
      const section = generatedSection(current, name);
      const expected = GENERATED[name]();
      if (process.env.UPDATE_README === '1' && section.body !== expected) {
        fs.writeFileSync(README, current.slice(0, section.start) + expected + current.slice(section.end));
        return;
      }
      assert.equal(section.body, expected, `README ${name} section is stale: run UPDATE_README=1 npx mocha dist/test/interop/operator-configs.test.js`);
    });
  }

  it('names only commands and options that exist', async () => {
    const help = await runClient(process.execPath, [ISPD_CLI, '--help']);
    const commands = new Set([...help.stdout.matchAll(/^ {2}([a-z-]+) /gm)].map((m) => m[1]));
    // reindex: its module is this helper's; main.ts lists it once the lead registers it
    if (fs.existsSync(path.join(path.dirname(ISPD_CLI), 'reindex.js'))) commands.add('reindex');
    // commands at the start of a shell line (or after && / |) in code blocks, and in `ispd …` code spans
    const fenced = [...text.matchAll(/```[a-z]*\n([\s\S]*?)```/g)].map((m) => m[1]).join('\n');
    const mentioned = [
      ...[...fenced.matchAll(/(?:^|&&\s*|\|\s*)ispd ([a-z][a-z-]*)/gm)].map((m) => m[1]),
      ...[...text.matchAll(/`ispd ([a-z][a-z-]*)/g)].map((m) => m[1]),
    ];
    assert.ok(mentioned.length >= 5);
    for (const name of mentioned) assert.ok(commands.has(name), `README mentions "ispd ${name}", which is not a command`);
    const { OPTIONS_BY_KEY } = await import('../../src/config/load');
    for (const m of text.matchAll(/`((?:ldap|ldaps|dns|log|auth|tls|acl|runAs|metrics)\.[A-Za-z.]+)`/g)) {
      assert.ok(OPTIONS_BY_KEY.has(m[1]), `README mentions option ${m[1]}, which does not exist`);
    }
  });

  describe('recipes run as written', function () {
    let dir: string;
    beforeEach(() => {
      dir = makeTempDir('ops2-readme');
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('ispd as DNS primary and NSD as secondary: NSD transfers the zone and serves the same serial', async function () {
      requirePrograms(this, 'nsd', 'nsd-checkconf', 'dig');
      const primary = blocks.get('ispd-primary');
      const secondary = blocks.get('nsd-secondary');
      assert.ok(primary && secondary, 'README has the ispd-primary and nsd-secondary blocks');
      const nsdPort = await pickFreePort({ udp: true });
      const dnsPort = await pickFreePort({ udp: true });
      // the README's addresses → this machine: ispd 192.0.2.1:53, secondary 192.0.2.2:53
      const yaml = primary.replace('0.0.0.0:53', `127.0.0.1:${dnsPort}`).replace('192.0.2.2/32', '127.0.0.1/32').replace('[192.0.2.2]', `[127.0.0.1:${nsdPort}]`);
      assert.notEqual(yaml, primary);
      fs.writeFileSync(path.join(dir, 'ispd.yaml'), yaml);
      const db = path.join(dir, 'ispd.sqlite');
      await importInto(db, DEMO_LDIF);
      const ispd: Served = await serve(db, ['--config', path.join(dir, 'ispd.yaml'), '--dns', `127.0.0.1:${dnsPort}`], { dnsPort });
      let nsd: ServerProcess | undefined;
      try {
        const zoneBlock = secondary.replace('192.0.2.1@53', `127.0.0.1@${dnsPort}`).replace(/192\.0\.2\.1 NOKEY/g, '127.0.0.1 NOKEY');
        const conf = path.join(dir, 'nsd.conf');
        fs.writeFileSync(conf, [
          'server:', '  ip-address: 127.0.0.1', `  port: ${nsdPort}`, `  zonesdir: "${dir}"`, `  pidfile: "${dir}/nsd.pid"`,
          `  xfrdfile: "${dir}/xfrd.state"`, `  xfrdir: "${dir}"`, `  zonelistfile: "${dir}/zone.list"`, '  database: ""',
          '  username: ""', '  chroot: ""', `  logfile: "${dir}/nsd.log"`, '  server-count: 1', 'remote-control:', '  control-enable: no',
          zoneBlock,
        ].join('\n'));
        const check = await runClient('nsd-checkconf', [conf]);
        assert.equal(check.code, 0, describeResult(check));
        nsd = await startServerProcess({ executable: 'nsd', args: ['-d', '-c', conf], host: '127.0.0.1', port: nsdPort, startTimeoutMs: 15000, cwd: dir });
        const soa = async (port: number) => (await runClient('dig', ['@127.0.0.1', '-p', String(port), '+norec', '+short', '+tries=1', '+time=2', 'example.com', 'SOA'])).stdout.trim();
        const expected = await soa(dnsPort);
        assert.match(expected, /^ns1\.example\.net\. /);
        const deadline = Date.now() + 30000;
        while ((await soa(nsdPort)) !== expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
        assert.equal(await soa(nsdPort), expected, 'NSD serves what ispd serves');
      } finally {
        await nsd?.stop();
        await ispd.stop();
      }
    });

    it('OpenLDAP: slapcat, then ispd import, gives the same directory', async function () {
      requirePrograms(this, 'slapd', 'slapcat', 'ldapsearch');
      const lines = settings(blocks.get('openldap-migration') ?? '');
      assert.equal(lines.length, 2, 'two commands: slapcat and ispd import');
      const slapd = await startSlapd();
      try {
        const db = path.join(dir, 'ispd.sqlite');
        const replacements: Array<[string, string]> = [
          ['slapcat ', `slapcat -f ${path.join(slapd.dir, 'slapd.conf')} `],
          ['ispd ', `${ISPD} `],
          ['--config /etc/ispd/ispd.yaml', `--db ${db}`],
        ];
        for (const line of lines) await runLine(line, replacements, dir);
        const dumped = fs.readFileSync(path.join(dir, 'ispman.ldif'), 'utf8');
        assert.match(dumped, /^entryUUID: /m, 'a real slapcat dump, operational attributes included');
        const exported = await runClient(process.execPath, [ISPD_CLI, 'export', '--db', db]);
        assert.equal(exported.code, 0, describeResult(exported));
        // compared without escapes: slapd writes v\=spf1 where ispd writes v\3dspf1 (both RFC 4514)
        const unescape = (dn: string) => dn.replace(/\\([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))).replace(/\\(.)/g, '$1');
        const dns = (ldif: string) => parseLdif(ldif).map((e) => unescape(e.dn.toLowerCase().replace(/\s*,\s*/g, ','))).sort();
        const inIspd = new Set(dns(exported.stdout));
        const inSlapd = new Set(dns(dumped));
        const missing = [...inSlapd].filter((dn) => !inIspd.has(dn));
        const extra = [...inIspd].filter((dn) => !inSlapd.has(dn));
        assert.deepEqual({ missing, extra }, { missing: [], extra: [] }, 'every entry of the slapd directory is in ispd, and only those');
        assert.match(exported.stdout, /^entryUUID: /m, 'operational attributes kept');
      } finally {
        await slapd.stop();
      }
    });

    it('slapadd -s style data (the article\'s posixAccount without cn) needs ispd import --relaxed, as the README says', async () => {
      assert.match(text, /`slapadd -s`[\s\S]{0,120}`ispd import --relaxed`/);
      const ldif = path.join(dir, 'article.ldif');
      fs.writeFileSync(ldif, [
        'dn: o=ispman', 'objectClass: organization', 'o: ispman', '',
        'dn: uid=bob,o=ispman', 'objectClass: account', 'objectClass: posixAccount', 'uid: bob', 'uidNumber: 1001', 'gidNumber: 1001', 'homeDirectory: /home/bob', '',
      ].join('\n'));
      const strict = await runClient(process.execPath, [ISPD_CLI, 'import', '--db', path.join(dir, 'strict.sqlite'), ldif]);
      assert.equal(strict.code, 1, describeResult(strict));
      assert.match(strict.stderr, /article\.ldif:5: dn: uid=bob,o=ispman: .*cn/);
      const relaxed = await runClient(process.execPath, [ISPD_CLI, 'import', '--relaxed', '--db', path.join(dir, 'relaxed.sqlite'), ldif]);
      assert.equal(relaxed.code, 0, describeResult(relaxed));
      assert.match(relaxed.stderr, /^2 entries imported/m);
    });

    it('BIND: zone2ldap, then ldapmodify into a running ispd, then ispd serves the zone', async function () {
      requirePrograms(this, 'zone2ldap', 'ldapmodify', 'dig');
      const lines = settings(blocks.get('bind-migration') ?? '');
      assert.equal(lines.length, 3);
      fs.writeFileSync(path.join(dir, 'example.org.zone'), [
        '$TTL 3600',
        '@    IN SOA ns1.example.org. hostmaster.example.org. 2024010101 10800 1800 604800 86400',
        '     IN NS  ns1.example.org.',
        '     IN NS  ns2.example.net.',
        '     IN MX  10 mail.example.org.',
        '     IN TXT "v=spf1 mx -all"',
        'ns1  IN A   192.0.2.53',
        'www  IN A   192.0.2.80',
        'mail IN A   192.0.2.25',
        'ftp  IN CNAME www',
        '',
      ].join('\n'));
      fs.writeFileSync(path.join(dir, 'named.conf'), `options { directory "${dir}"; };\nzone "example.org" { type master; file "${dir}/example.org.zone"; };\n`);
      const db = path.join(dir, 'ispd.sqlite');
      await importInto(db, DEMO_LDIF);
      const ispd = await serve(db);
      try {
        const replacements: Array<[string, string]> = [
          ['/etc/bind/named.conf', path.join(dir, 'named.conf')],
          ['ldap://127.0.0.1:389', `ldap://127.0.0.1:${ispd.ldapPort}`],
          [' -W ', ' -w ispman-admin '],
          ['ispd zone', `${ISPD} zone`],
          ['--config /etc/ispd/ispd.yaml', `--db ${db}`],
        ];
        let zone = '';
        for (const line of lines) zone = (await runLine(line, replacements, dir)).stdout;
        for (const expected of [/^www\.example\.org\.\s+\d+\s+IN\s+A\s+192\.0\.2\.80$/m, /^example\.org\.\s+\d+\s+IN\s+MX\s+10 mail\.example\.org\.$/m, /^ftp\.example\.org\.\s+\d+\s+IN\s+CNAME\s+www\.example\.org\.$/m, /IN\s+TXT\s+"v=spf1 mx -all"/]) {
          assert.match(zone, expected);
        }
        const dig = async (name: string, type: string) => (await runClient('dig', ['@127.0.0.1', '-p', String(ispd.dnsPort), '+norec', '+short', name, type])).stdout.trim();
        assert.equal(await dig('www.example.org', 'A'), '192.0.2.80');
        assert.equal(await dig('example.org', 'MX'), '10 mail.example.org.');
        assert.match(await dig('example.org', 'SOA'), /^ns1\.example\.org\. hostmaster\.example\.org\. \d+ 10800 1800 604800 86400$/);
      } finally {
        await ispd.stop();
      }
    });
  });
});
