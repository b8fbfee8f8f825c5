// The command line as an operator meets it: exit codes and one-line messages for bad configuration,
// `ispd check-config` on good and bad files, and progress output of import, export and reindex, both
// as log lines (pipes, journals) and as a bar on a terminal (a real pty from script(1)).

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describeResult, requirePrograms, runClient, type ClientResult } from '../support/clients';
import { DEMO_LDIF, REPO_ROOT, makeTempDir } from '../support/server-process';
import { makeSelfSignedCert } from './ldap-tools';
import { ISPD_CLI, importInto, ispd, writePeopleLdif } from './ops-tools';

/**
 * `ispd reindex ARGS`. Until src/cli/main.ts lists the command, the command module is run directly
 * (same argv, same exit-code mapping for its errors), so its behaviour is tested either way.
 */
async function reindex(args: string[], env?: NodeJS.ProcessEnv): Promise<ClientResult> {
  const help = await ispd(['--help']);
  if (/^\s+reindex\s/m.test(help.stdout)) return ispd(['reindex', ...args], { env });
  const module = path.join(path.dirname(ISPD_CLI), 'reindex.js');
  const script = `require(${JSON.stringify(module)}).runReindex(process.argv.slice(1)).then((c) => { process.exitCode = c; }, (e) => { process.stderr.write('ispd reindex: ' + e.message + '\\n'); process.exitCode = e.name === 'ConfigError' ? 2 : 1; })`;
  return runClient(process.execPath, ['-e', script, '--', ...args], { env, timeoutMs: 60000 });
}

function oneLine(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l.trim() !== '');
  assert.equal(lines.length, 1, `expected one line on stderr, got:\n${stderr}`);
  return lines[0];
}

describe('configuration errors and check-config (real processes)', function () {
  this.timeout(60000);
  let dir: string;
  const env = (): NodeJS.ProcessEnv => {
    // ISPD_* from the environment of the test run must not leak into these processes
    const clean: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('ISPD_')) clean[k] = v;
    return clean;
  };
  const write = (name: string, text: string): string => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return file;
  };

  before(() => {
    dir = makeTempDir('ops2-config');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('serve --ldap 127.0.0.1:99999 exits 2 with one line naming the key, the value and what is expected', async () => {
    const r = await ispd(['serve', '--db', path.join(dir, 'never.sqlite'), '--ldap', '127.0.0.1:99999'], { env: env() });
    assert.equal(r.code, 2, describeResult(r));
    const line = oneLine(r.stderr);
    assert.match(line, /ldap\.listen/);
    assert.match(line, /127\.0\.0\.1:99999/);
    assert.match(line, /port 0-65535/);
    assert.match(line, /flag --ldap/);
    assert.equal(fs.existsSync(path.join(dir, 'never.sqlite')), false, 'no store is created for a refused configuration');
  });

  it('an unknown flag and an unknown command exit 2 with one line', async () => {
    const flag = await ispd(['serve', '--frobnicate'], { env: env() });
    assert.equal(flag.code, 2, describeResult(flag));
    assert.match(oneLine(flag.stderr), /--frobnicate: unknown flag/);
    const check = await ispd(['check-config', '--ldap-port', '389'], { env: env() });
    assert.equal(check.code, 2, describeResult(check));
    assert.match(oneLine(check.stderr), /--ldap-port: unknown flag/);
    const command = await ispd(['serv'], { env: env() });
    assert.equal(command.code, 2, describeResult(command));
    assert.match(command.stderr, /unknown command "serv"/);
  });

  it('a bad ISPD_* variable exits 2 naming the variable', async () => {
    const r = await ispd(['check-config'], { env: { ...env(), ISPD_LDAP__SIZE_LIMIT: 'lots' } });
    assert.equal(r.code, 2, describeResult(r));
    const line = oneLine(r.stderr);
    assert.match(line, /ldap\.sizeLimit: "lots" is not an integer/);
    assert.match(line, /environment ISPD_LDAP__SIZE_LIMIT/);
  });

  it('check-config accepts a good file and prints the effective values with where they came from', async () => {
    const acl = write('acl.yaml', 'rules:\n  - to: { subtree: "o=ispman" }\n    by:\n      - { who: anyone, access: read }\n');
    const file = write('good.yaml', `db: ${dir}/x.sqlite\nldap:\n  listen: 127.0.0.1:3389\n  sizeLimit: 50\nacl:\n  file: ${acl}\nlog:\n  level: debug\n`);
    const r = await ispd(['check-config', '--config', file, '--set', 'dns.listen=off'], { env: env() });
    assert.equal(r.code, 0, describeResult(r));
    assert.match(r.stdout, /effective configuration: OK/);
    assert.match(r.stdout, /sizeLimit: 50/);
    assert.match(r.stdout, new RegExp(`ldap\\.sizeLimit from ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} line 4`));
    assert.match(r.stdout, /dns\.listen from flag --set dns\.listen/);
    assert.match(r.stdout, /\n {2}listen: off\n/);
    assert.equal(fs.existsSync(path.join(dir, 'x.sqlite')), false, 'check-config does not create the store');
  });

  it('check-config accepts the shipped sample file (every option at its default)', async () => {
    const r = await ispd(['check-config', '--config', path.join(REPO_ROOT, 'src', 'config', 'ispd.sample.yaml')], { env: env() });
    assert.equal(r.code, 0, describeResult(r));
  });

  it('check-config refuses bad files with exit 2 and one line naming key, value and expectation', async () => {
    const cases: Array<{ name: string; text: string; expect: RegExp[] }> = [
      { name: 'value.yaml', text: 'ldap:\n  sizeLimit: -3\n', expect: [/ldap\.sizeLimit: -3 is not an integer from 0/, /value\.yaml line 2/] },
      { name: 'unknown.yaml', text: 'ldap:\n  sizelimit: 3\n', expect: [/ldap\.sizelimit: unknown option/, /sizeLimit/] },
      { name: 'yaml.yaml', text: 'ldap:\n  listen: [\n', expect: [/config: .*yaml\.yaml line \d+/] },
      { name: 'listen.yaml', text: 'dns:\n  listen: 127.0.0.1:70000\n', expect: [/dns\.listen: "127\.0\.0\.1:70000" is not host:port/] },
      { name: 'runas.yaml', text: 'runAs:\n  user: no-such-user-ispd\n', expect: [/runAs\.user: "no-such-user-ispd" is not an existing user/] },
      { name: 'index.yaml', text: 'indexes: [uid, noSuchAttribute]\n', expect: [/indexes: "noSuchAttribute" is not an attribute type/] },
    ];
    for (const c of cases) {
      const r = await ispd(['check-config', '--config', write(c.name, c.text)], { env: env() });
      assert.equal(r.code, 2, `${c.name}: ${describeResult(r)}`);
      const line = oneLine(r.stderr);
      for (const re of c.expect) assert.match(line, re, c.name);
    }
  });

  it('check-config refuses an ACL file that does not parse and a certificate that does not match its key', async () => {
    const badAcl = write('bad-acl.yaml', 'rules:\n  - to: { subtree: "o=ispman" }\n    by:\n      - { who: everybody, access: read }\n');
    const r = await ispd(['check-config', '--set', `acl.file=${badAcl}`], { env: env() });
    assert.equal(r.code, 2, describeResult(r));
    assert.match(oneLine(r.stderr), /acl\.file: .*bad-acl\.yaml.*who: "everybody" is not one of/);

    const a = makeSelfSignedCert(fs.mkdtempSync(path.join(dir, 'a-')));
    const b = makeSelfSignedCert(fs.mkdtempSync(path.join(dir, 'b-')));
    const mismatch = await ispd(['check-config', '--set', `tls.cert=${a.certFile}`, '--set', `tls.key=${b.keyFile}`], { env: env() });
    assert.equal(mismatch.code, 2, describeResult(mismatch));
    assert.match(oneLine(mismatch.stderr), /tls\.cert: .* does not load/);
    const good = await ispd(['check-config', '--set', `tls.cert=${a.certFile}`, '--set', `tls.key=${a.keyFile}`], { env: env() });
    assert.equal(good.code, 0, describeResult(good));
  });

  it('serve refuses a bad ACL file at start with exit 2 (not a crash later)', async () => {
    const badAcl = write('bad-acl2.yaml', 'rules: nope\n');
    const r = await ispd(['serve', '--db', path.join(dir, 'acl.sqlite'), '--set', `acl.file=${badAcl}`, '--ldap', '127.0.0.1:0', '--dns', 'off', '--metrics', 'off'], { env: env() });
    assert.equal(r.code, 2, describeResult(r));
    assert.match(oneLine(r.stderr), /acl\.file: .*expected a top-level "rules:" list/);
  });
});

describe('progress of import, export and reindex', function () {
  this.timeout(120000);
  let dir: string;
  let ldif: string;
  // 12 000 entries: the bulk loader reports every 10 000, so the load phase has a progress point
  const COUNT = 12000;

  before(() => {
    dir = makeTempDir('ops2-progress');
    ldif = path.join(dir, 'people.ldif');
    writePeopleLdif(ldif, COUNT);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Timed lines: ISO time, what, phase, count/total, rate and ETA. */
  const LINE = /^\d{4}-\d\d-\d\dT[\d:.]+Z (import|export|reindex) \w+: (\d+)(\/(\d+))? entries( \((\d+)%\))?, (\d+)\/s(, ETA \d+s)?$/;

  it('without a terminal: periodic log lines with count, rate and ETA, then a summary line', async () => {
    const db = path.join(dir, 'plain.sqlite');
    const env = { ...process.env, ISPD_PROGRESS_INTERVAL: '0.02' };
    const imp = await ispd(['import', '--db', db, ldif], { env });
    assert.equal(imp.code, 0, describeResult(imp));
    const lines = imp.stderr.trim().split('\n');
    assert.match(lines[lines.length - 1], new RegExp(`^${COUNT + 2} entries imported from .* in [\\d.]+s$`));
    const progress = lines.slice(0, -1);
    assert.ok(progress.length >= 2, imp.stderr);
    for (const line of progress) assert.match(line, LINE);
    const load = progress.filter((l) => / import load: /.test(l));
    assert.ok(load.length >= 1, `a load progress line: ${imp.stderr}`);
    // import reads the LDIF once, so its total is unknown: count and rate (export and reindex add % and ETA)
    assert.match(load[0], /import load: 10000(\/\d+)? entries.*, [1-9]\d*\/s/);
    assert.equal(imp.stderr.includes('\r'), false, 'no terminal control characters in a log');

    const exp = await ispd(['export', '--db', db], { env });
    assert.equal(exp.code, 0, describeResult(exp));
    assert.equal(exp.stdout.match(/^dn: /gm)?.length, COUNT + 2, 'the LDIF on stdout is complete and unmixed');
    const expLines = exp.stderr.trim().split('\n');
    assert.match(expLines[expLines.length - 1], new RegExp(`^${COUNT + 2} entries exported in [\\d.]+s$`));
    for (const line of expLines.slice(0, -1)) assert.match(line, LINE);

    const re = await reindex(['--db', db], env);
    assert.equal(re.code, 0, describeResult(re));
    assert.match(re.stderr.trim().split('\n').pop()!, new RegExp(`^${COUNT + 2} entries reindexed in [\\d.]+s$`));
    for (const line of re.stderr.trim().split('\n').slice(0, -1)) assert.match(line, LINE);
  });

  it('on a terminal (a pty from script): a bar redrawn in place with percentage, rate and ETA', async function () {
    requirePrograms(this, 'script');
    const db = path.join(dir, 'tty.sqlite');
    await importInto(db, ldif);
    const registered = /^\s+reindex\s/m.test((await ispd(['--help'])).stdout);
    const reindexModule = path.join(path.dirname(ISPD_CLI), 'reindex.js');
    const node = JSON.stringify(process.execPath);
    const commands = [
      `${node} ${JSON.stringify(ISPD_CLI)} export --db ${db} > /dev/null`,
      registered
        ? `${node} ${JSON.stringify(ISPD_CLI)} reindex --db ${db}`
        : `${node} -e 'require(${JSON.stringify(reindexModule)}).runReindex(process.argv.slice(1)).then((c) => { process.exitCode = c; })' -- --db ${db}`,
    ];
    for (const command of commands) {
      // script(1) runs the command on a new pseudo-terminal and copies what it writes to our stdout
      const r = await runClient('script', ['-qfec', command, '/dev/null'], { timeoutMs: 60000 });
      assert.equal(r.code, 0, describeResult(r));
      const out = r.stdout;
      const what = command.includes('export') ? 'export' : 'reindex';
      assert.match(out, new RegExp(`\\r${what} \\w+ \\[[#.]{24}\\] \\d+% \\d+/${COUNT + 2} \\d+/s ETA (\\d+s|\\?)\\x1b\\[K`), JSON.stringify(out.slice(0, 400)));
      assert.match(out, new RegExp(`${COUNT + 2} entries (exported|reindexed)`));
      assert.doesNotMatch(out, /^\d{4}-\d\d-\d\dT/m, 'no timed log lines on a terminal');
    }
  });

  it('reindex fills in an index added to the configuration after the data was loaded', async () => {
    const db = path.join(dir, 'late-index.sqlite');
    await importInto(db, DEMO_LDIF);
    // description is not indexed by default; with it added, searches stay right (widened) until reindex
    const idx = ['--set', 'indexes=objectClass,uid,cn,mailLocalAddress,mailAlias,mailacceptinggeneralid,ispmanDomain,uidNumber,gidNumber,memberUid,zoneName,relativeDomainName,associatedDomain,description'];
    const re = await reindex(['--db', db, ...idx]);
    assert.equal(re.code, 0, describeResult(re));
    assert.match(re.stderr, /entries reindexed \(filled in: description\)/);
    const again = await reindex(['--db', db, ...idx]);
    assert.equal(again.code, 0, describeResult(again));
    assert.doesNotMatch(again.stderr, /filled in/);
  });
});
