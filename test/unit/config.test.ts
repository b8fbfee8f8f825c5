import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createAccessLog, createLogger, formatPrettyLine, redactSecrets, setLogLevel, subsystemLogger } from '../../src/log';
import {
  ConfigError,
  FLAT_OPTIONS,
  OPTIONS_BY_KEY,
  describeOptions,
  envNameOf,
  loadConfig,
  parseCommandLine,
  renderEffectiveConfig,
  renderOptionsHelp,
  renderSampleConfig,
  type Config,
} from '../../src/config/load';

const SAMPLE_FILE = path.resolve(__dirname, '../../../src/config/ispd.sample.yaml');

function expectConfigError(run: () => unknown, ...fragments: string[]): ConfigError {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${caught === undefined ? 'no error' : String(caught)}`);
  for (const fragment of fragments) assert.ok(caught.message.includes(fragment), `message ${JSON.stringify(caught.message)} lacks ${JSON.stringify(fragment)}`);
  return caught;
}

function valueAt(config: Config, key: string): unknown {
  return key.split('.').reduce<any>((node, part) => node[part], config);
}

describe('config', () => {
  let dir: string;
  const write = (name: string, text: string): string => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return file;
  };

  beforeEach(() => {
    dir = fs.mkdtempSync(os.tmpdir() + '/ispd-ops-');
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('defaults', () => {
    it('match design §9 with no file, environment or flags', () => {
      const config = loadConfig([], {});
      assert.equal(config.db, './data/ispd.sqlite');
      assert.equal(config.backend, 'sqlite');
      assert.equal(config.baseDN, 'o=ispman');
      assert.deepEqual(config.ldap.listen, { host: '127.0.0.1', port: 1389 });
      assert.equal(config.ldaps.listen, null, 'LDAPS stays off until a certificate is given');
      assert.deepEqual(config.dns.listen, { host: '127.0.0.1', port: 1053 });
      assert.deepEqual(config.metrics.listen, { host: '127.0.0.1', port: 9389 });
      assert.equal(config.ldap.sizeLimit, 500);
      assert.equal(config.ldap.maxPduBytes, 4 * 1024 * 1024);
      assert.equal(config.auth.passwordScheme, '{SSHA512}');
      assert.deepEqual(config.dns.allowTransfer, ['127.0.0.1/32', '::1/128']);
      assert.equal(config.log.level, 'info');
      assert.ok(config.indexes.includes('mailLocalAddress') && config.indexes.includes('relativeDomainName'));
    });

    it('is deeply frozen', () => {
      const config = loadConfig([], {});
      assert.ok(Object.isFrozen(config) && Object.isFrozen(config.ldap) && Object.isFrozen(config.auth.throttle));
      assert.ok(Object.isFrozen(config.ldap.listen) && Object.isFrozen(config.indexes));
      assert.throws(() => {
        (config.ldap as { sizeLimit: number }).sizeLimit = 1;
      }, TypeError);
      assert.throws(() => (config.indexes as string[]).push('x'), TypeError);
      // A second load is not affected by anything done to the first (no shared mutable defaults).
      assert.equal(loadConfig([], {}).ldap.sizeLimit, 500);
    });
  });

  describe('precedence: defaults < file < environment < flags', () => {
    it('applies each layer over the one below, key by key', () => {
      const file = write('ispd.yaml', [
        'db: /file/ispd.sqlite',
        'ldap:',
        '  listen: 0.0.0.0:389',
        '  sizeLimit: 10',
        'log:',
        '  level: warn',
        'dns:',
        '  notifyRetry: 2',
      ].join('\n'));
      const fromFile = loadConfig(['--config', file], {});
      assert.equal(fromFile.db, '/file/ispd.sqlite');
      assert.equal(fromFile.ldap.sizeLimit, 10);
      assert.equal(fromFile.log.level, 'warn');
      assert.equal(fromFile.ldap.timeLimit, 3600, 'keys not in the file keep their defaults');

      const env = { ISPD_LDAP__SIZE_LIMIT: '20', ISPD_LOG_LEVEL: 'error', ISPD_DNS__NOTIFY_RETRY: '3' };
      const fromEnv = loadConfig(['--config', file], env);
      assert.equal(fromEnv.ldap.sizeLimit, 20);
      assert.equal(fromEnv.log.level, 'error');
      assert.equal(fromEnv.dns.notifyRetry, 3);
      assert.equal(fromEnv.db, '/file/ispd.sqlite', 'file values the environment does not set survive');

      const fromFlags = loadConfig(['--config', file, '--set', 'ldap.sizeLimit=30', '--log-level', 'debug', '--db=/flag.sqlite'], env);
      assert.equal(fromFlags.ldap.sizeLimit, 30);
      assert.equal(fromFlags.log.level, 'debug');
      assert.equal(fromFlags.db, '/flag.sqlite');
      assert.equal(fromFlags.dns.notifyRetry, 3);
      assert.deepEqual(fromFlags.ldap.listen, { host: '0.0.0.0', port: 389 });
    });

    it('records where each value came from', () => {
      const file = write('ispd.yaml', 'ldap:\n  sizeLimit: 10\n');
      const commandLine = parseCommandLine(['--config', file, '--dns', '127.0.0.1:5353'], { ISPD_LOG__LEVEL: 'warn' });
      assert.equal(commandLine.sources.get('ldap.sizeLimit'), `${file} line 2`);
      assert.equal(commandLine.sources.get('log.level'), 'environment ISPD_LOG__LEVEL');
      assert.equal(commandLine.sources.get('dns.listen'), 'flag --dns');
      assert.equal(commandLine.sources.get('db'), 'default');
      assert.equal(commandLine.configFile, file);
    });

    it('takes the file from ISPD_CONFIG, and --config wins over it', () => {
      const envFile = write('env.yaml', 'ldap:\n  sizeLimit: 7\n');
      const flagFile = write('flag.yaml', 'ldap:\n  sizeLimit: 8\n');
      assert.equal(loadConfig([], { ISPD_CONFIG: envFile }).ldap.sizeLimit, 7);
      assert.equal(loadConfig(['--config', flagFile], { ISPD_CONFIG: envFile }).ldap.sizeLimit, 8);
    });
  });

  describe('flags and environment names (design §9)', () => {
    it('takes --db, --ldap, --dns, --metrics, --log-level in both --flag value and --flag=value form', () => {
      const config = loadConfig(['--db', 'x.sqlite', '--ldap=[::1]:3389', '--dns', '0.0.0.0:53', '--metrics=off', '--log-level', 'trace'], {});
      assert.equal(config.db, 'x.sqlite');
      assert.deepEqual(config.ldap.listen, { host: '::1', port: 3389 });
      assert.deepEqual(config.dns.listen, { host: '0.0.0.0', port: 53 });
      assert.equal(config.metrics.listen, null);
      assert.equal(config.log.level, 'trace');
    });

    it('maps ISPD_* names: short aliases, nested keys with __, camelCase as _', () => {
      const config = loadConfig([], {
        ISPD_DB: '/env.sqlite',
        ISPD_LDAP: 'localhost:1390',
        ISPD_DNS: 'off',
        ISPD_METRICS: '127.0.0.1:0',
        ISPD_LDAP__MAX_PDU_BYTES: '1MiB',
        ISPD_AUTH__THROTTLE__PER_DN: '9',
        ISPD_DNS__ALLOW_TRANSFER: '10.0.0.0/8, 192.0.2.1',
        ISPD_DNS__NOTIFY: 'ns2.example.net,[2001:db8::53]:5300',
        ISPD_BASE_DN: 'o=example',
        PATH: '/usr/bin',
      });
      assert.equal(config.db, '/env.sqlite');
      assert.deepEqual(config.ldap.listen, { host: 'localhost', port: 1390 });
      assert.equal(config.dns.listen, null);
      assert.deepEqual(config.metrics.listen, { host: '127.0.0.1', port: 0 });
      assert.equal(config.ldap.maxPduBytes, 1024 * 1024);
      assert.equal(config.auth.throttle.perDn, 9);
      assert.deepEqual(config.dns.allowTransfer, ['10.0.0.0/8', '192.0.2.1/32']);
      assert.deepEqual(config.dns.notify, [{ host: 'ns2.example.net', port: 53 }, { host: '2001:db8::53', port: 5300 }]);
      assert.equal(config.baseDN, 'o=example');
    });

    it('gives every option a distinct derived environment name that loads', () => {
      const names = FLAT_OPTIONS.map(({ key }) => envNameOf(key));
      assert.equal(new Set(names).size, names.length);
      assert.equal(envNameOf('ldap.maxPduBytes'), 'ISPD_LDAP__MAX_PDU_BYTES');
      assert.equal(envNameOf('dns.notifyRetry'), 'ISPD_DNS__NOTIFY_RETRY');
      // Each derived name reaches its own option: give the default back in its rendered form.
      for (const { key, def } of FLAT_OPTIONS) {
        const rendered = def.type.render(def.default as never);
        if (rendered === null) continue;
        const text = Array.isArray(rendered) ? rendered.join(',') : String(rendered);
        const commandLine = parseCommandLine([], { [envNameOf(key)]: text });
        assert.equal(commandLine.sources.get(key), `environment ${envNameOf(key)}`, key);
        assert.deepEqual(valueAt(commandLine.config, key), valueAt(loadConfig([], {}), key), key);
      }
    });

    it('accepts command-specific flags and positionals only when the command declares them', () => {
      const commandLine = parseCommandLine(['--relaxed', 'data.ldif', '--db', 'x.sqlite', '--format=ldif'], {}, {
        commandFlags: { '--relaxed': 'boolean', '--format': 'string' },
        positionals: true,
      });
      assert.deepEqual(commandLine.flags, { '--relaxed': true, '--format': 'ldif' });
      assert.deepEqual(commandLine.positionals, ['data.ldif']);
      assert.equal(commandLine.config.db, 'x.sqlite');
      expectConfigError(() => loadConfig(['data.ldif'], {}), '"data.ldif"', 'unexpected argument');
      expectConfigError(() => loadConfig(['--relaxed'], {}), '--relaxed: unknown flag', '--db', '--ldap');
    });
  });

  describe('validation messages name the key, the value and what is expected', () => {
    it('says what a host:port must be', () => {
      const error = expectConfigError(() => loadConfig(['--ldap', '127.0.0.1:99999'], {}),
        'ldap.listen: "127.0.0.1:99999" is not host:port with port 0-65535', '(from flag --ldap)');
      assert.equal(error.key, 'ldap.listen');
      assert.equal(error.value, '127.0.0.1:99999');
      for (const bad of ['127.0.0.1', ':389', 'host:-1', '::1:389', '[zz]:389', 'a b:1']) {
        expectConfigError(() => loadConfig(['--dns', bad], {}), `dns.listen: ${JSON.stringify(bad)} is not host:port`);
      }
    });

    it('for every option that can be invalid, through a flag', () => {
      const acceptsAnyText = new Set<string>();
      for (const { key, def } of FLAT_OPTIONS) {
        let accepted = true;
        try {
          def.type.parse('not valid!');
        } catch {
          accepted = false;
        }
        if (accepted) {
          acceptsAnyText.add(key);
          continue;
        }
        const error = expectConfigError(() => loadConfig(['--set', `${key}=not valid!`], {}),
          `${key}: "not valid!" is not ${def.type.expected}`, `(from flag --set ${key})`);
        assert.equal(error.key, key);
        assert.equal(error.expected, def.type.expected);
      }
      // Only free-text options (paths, names, URLs, commands) take any string.
      assert.deepEqual([...acceptsAnyText].sort(), ['acl.file', 'db', 'provision.homeDirectory', 'provision.loginShell', 'provision.postAdd', 'provision.postDelete', 'runAs.group', 'runAs.user', 'tls.ca', 'tls.cert', 'tls.key']);
    });

    it('with the file and line for a bad value in the YAML file', () => {
      const file = write('ispd.yaml', 'ldap:\n  listen: 127.0.0.1:1389\n  sizeLimit: lots\n');
      expectConfigError(() => loadConfig(['--config', file], {}), 'ldap.sizeLimit: "lots" is not an integer from 0 to 1000000000', `(from ${file} line 3)`);
      const typed = write('typed.yaml', 'log:\n  accessSample: 1.5\nldap:\n  allowV2Bind: maybe\n');
      expectConfigError(() => loadConfig(['--config', typed], {}), 'log.accessSample: 1.5 is not a number from 0 to 1', 'line 2');
    });

    it('with the variable name for a bad environment value', () => {
      expectConfigError(() => loadConfig([], { ISPD_LOG_LEVEL: 'loud' }),
        'log.level: "loud" is not one of fatal, error, warn, info, debug, trace, silent', '(from environment ISPD_LOG_LEVEL)');
      expectConfigError(() => loadConfig([], { ISPD_LDAP__MAX_PDU_BYTES: '10 parsecs' }), 'ldap.maxPduBytes: "10 parsecs" is not a size from 1KiB to 1GiB');
      expectConfigError(() => loadConfig([], { ISPD_DNS__ALLOW_TRANSFER: '10.0.0.0/33' }), 'dns.allowTransfer: "10.0.0.0/33" is not a list of CIDR ranges');
    });

    it('for rules between options', () => {
      const cert = write('cert.pem', 'not really a certificate; only readability is checked here');
      const key = write('key.pem', 'not really a key');
      expectConfigError(() => loadConfig(['--set', `tls.cert=${cert}`], {}), `tls.cert: ${JSON.stringify(cert)} needs tls.key to be set too`);
      expectConfigError(() => loadConfig(['--set', `tls.cert=${path.join(dir, 'missing.pem')}`, '--set', `tls.key=${key}`], {}),
        'tls.cert:', 'missing.pem', 'is not a readable file (ENOENT)');
      expectConfigError(() => loadConfig(['--set', 'ldaps.listen=0.0.0.0:636'], {}), 'ldaps.listen: "0.0.0.0:636" needs tls.cert and tls.key to be set');
      expectConfigError(() => loadConfig(['--set', 'ldap.requireTlsForBind=true'], {}), 'ldap.requireTlsForBind: true needs tls.cert and tls.key');
      // Only the engines the registry offers (backends/registry.ts) pass the check.
      expectConfigError(() => loadConfig(['--set', 'backend=postgres'], {}), 'backend: "postgres" is not one of sqlite');
      expectConfigError(() => loadConfig(['--metrics', '127.0.0.1:1389'], {}), 'metrics.listen: "127.0.0.1:1389" is already used by ldap.listen');

      const withTls = loadConfig(['--set', `tls.cert=${cert}`, '--set', `tls.key=${key}`], {});
      assert.deepEqual(withTls.ldaps.listen, { host: '127.0.0.1', port: 1636 }, 'a certificate opens LDAPS on its default address');
      assert.equal(loadConfig(['--set', `tls.cert=${cert}`, '--set', `tls.key=${key}`, '--set', 'ldaps.listen=off'], {}).ldaps.listen, null);
      // Port 0 (pick a free port) never conflicts.
      assert.deepEqual(loadConfig(['--ldap', '127.0.0.1:0', '--metrics', '127.0.0.1:0'], {}).metrics.listen, { host: '127.0.0.1', port: 0 });
    });
  });

  describe('unknown names are rejected', () => {
    it('in the file, at the top level and nested, with the known names nearby', () => {
      expectConfigError(() => loadConfig(['--config', write('a.yaml', 'dbfile: x\n')], {}), 'dbfile: unknown option', 'known at the top level', 'db', 'line 1');
      expectConfigError(() => loadConfig(['--config', write('b.yaml', 'ldap:\n  sizelimit: 5\n')], {}),
        'ldap.sizelimit: unknown option (known under ldap: listen,', 'sizeLimit', 'line 2');
      expectConfigError(() => loadConfig(['--config', write('c.yaml', 'auth:\n  throttle:\n    perUser: 1\n')], {}), 'auth.throttle.perUser: unknown option');
      expectConfigError(() => loadConfig(['--config', write('d.yaml', 'ldap: 5\n')], {}), 'ldap: expected a mapping of option names to values');
      expectConfigError(() => loadConfig(['--config', write('e.yaml', '- a\n- b\n')], {}), 'config: expected a mapping');
    });

    it('in the environment, flags and --set', () => {
      expectConfigError(() => loadConfig([], { ISPD_LDAP__SIZELIMIT_X: '1' }), 'ISPD_LDAP__SIZELIMIT_X: unknown configuration variable');
      expectConfigError(() => loadConfig([], { ISPD_LOG_LEVLE: 'debug' }), 'ISPD_LOG_LEVLE: unknown configuration variable');
      expectConfigError(() => loadConfig([], { ISPD_DNS__NOTIFY_RETRIES: '1' }), 'ISPD_DNS__NOTIFY_RETRIES: unknown configuration variable');
      // Variables of tools and tests that are not configuration are left alone.
      assert.equal(loadConfig([], { ISPD_DEBUG: '1', ISPD_TEST_TARGET: 'slapd', ISPD_CLI: 'x' }).db, './data/ispd.sqlite');
      expectConfigError(() => loadConfig(['--ldap-listen', 'x'], {}), '--ldap-listen: unknown flag');
      expectConfigError(() => loadConfig(['--set', 'ldap.nope=1'], {}), '--set: "ldap.nope=1" is not KEY=VALUE with a known option key', 'known under ldap');
      expectConfigError(() => loadConfig(['--set', 'novalue'], {}), '--set: "novalue" is not KEY=VALUE');
      expectConfigError(() => loadConfig(['--db'], {}), '--db: needs a value');
    });

    it('reports unreadable and malformed files', () => {
      expectConfigError(() => loadConfig(['--config', path.join(dir, 'absent.yaml')], {}), 'config: cannot read', 'absent.yaml', 'ENOENT');
      expectConfigError(() => loadConfig(['--config', write('bad.yaml', 'ldap:\n  listen: [unclosed\n')], {}), 'bad.yaml line');
      expectConfigError(() => loadConfig(['--config', write('dup.yaml', 'db: a\ndb: b\n')], {}), 'dup.yaml line');
    });

    it('accepts an empty file and empty groups', () => {
      assert.equal(loadConfig(['--config', write('empty.yaml', '')], {}).db, './data/ispd.sqlite');
      assert.equal(loadConfig(['--config', write('group.yaml', 'ldap:\n# nothing yet\n')], {}).ldap.sizeLimit, 500);
    });
  });

  describe('help and the sample file', () => {
    it('describes every option with a default and one line of help', () => {
      const described = describeOptions();
      assert.deepEqual(described.map((d) => d.key), FLAT_OPTIONS.map((o) => o.key));
      for (const option of described) {
        assert.ok(option.help.length > 10 && !option.help.includes('\n'), option.key);
        assert.ok(option.default.length > 0, option.key);
        assert.ok(option.env.includes(envNameOf(option.key)));
      }
      assert.equal(described.find((d) => d.key === 'ldap.listen')?.flag, '--ldap');
      const help = renderOptionsHelp();
      for (const { key } of FLAT_OPTIONS) assert.ok(help.includes(`  ${key}`), key);
    });

    it('the committed sample is the rendered one and lists every option with help', () => {
      const committed = fs.readFileSync(SAMPLE_FILE, 'utf8');
      assert.equal(committed, renderSampleConfig(), 'src/config/ispd.sample.yaml is stale: regenerate it with renderSampleConfig()');
      for (const { key, def } of FLAT_OPTIONS) {
        const name = key.split('.').pop()!;
        assert.match(committed, new RegExp(`^\\s*${name}: `, 'm'), key);
        assert.ok(committed.includes(`# ${def.help}`), key);
      }
    });

    it('the sample round-trips through loadConfig to the defaults', () => {
      const commandLine = parseCommandLine(['--config', SAMPLE_FILE], {});
      assert.deepEqual(commandLine.config, loadConfig([], {}));
      for (const { key } of FLAT_OPTIONS) assert.match(commandLine.sources.get(key)!, /ispd\.sample\.yaml line \d+$/, key);
    });

    it('the effective configuration, rendered, loads back to the same configuration', () => {
      const cert = write('cert.pem', 'x');
      const key = write('key.pem', 'x');
      const first = parseCommandLine(['--ldap', '[::1]:389', '--set', `tls.cert=${cert}`, '--set', `tls.key=${key}`], {
        ISPD_DNS__NOTIFY: 'ns2.example.net:5353', ISPD_LOG__ACCESS: 'yes', ISPD_LDAP__MAX_PDU_BYTES: '65536',
      });
      const rendered = renderEffectiveConfig(first);
      assert.match(rendered, /ldap\.listen from flag --ldap/);
      const again = loadConfig(['--config', write('effective.yaml', rendered)], {});
      assert.deepEqual(again, first.config);
      assert.equal(OPTIONS_BY_KEY.size, FLAT_OPTIONS.length);
    });
  });
});

// The logger is built from config.log; its tests live here with the rest of the configuration.
describe('log (src/log.ts)', () => {
  function capture(isTTY = false): { stream: Writable; lines: string[] } {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(...chunk.toString().split('\n').filter((l) => l !== ''));
        done();
      },
    });
    if (isTTY) (stream as unknown as { isTTY: boolean }).isTTY = true;
    return { stream, lines };
  }
  const parse = (lines: string[]) => lines.map((line) => JSON.parse(line) as Record<string, unknown>);

  it('writes JSON lines with level, time, subsystem and message', () => {
    const { stream, lines } = capture();
    const root = createLogger({ log: { level: 'info', format: 'auto' } }, { destination: stream });
    subsystemLogger(root, 'ldap', { conn: 7 }).info({ op: 'search' }, 'done');
    const [record] = parse(lines);
    assert.equal(record.level, 'info');
    assert.equal(record.subsystem, 'ldap');
    assert.equal(record.conn, 7);
    assert.equal(record.op, 'search');
    assert.equal(record.msg, 'done');
    assert.match(String(record.time), /^\d{4}-\d\d-\d\dT/);
  });

  it('changes the level of the whole family, children made before the change included', () => {
    const { stream, lines } = capture();
    const root = createLogger({ log: { level: 'info', format: 'json' } }, { destination: stream });
    const other = capture();
    const otherRoot = createLogger({ log: { level: 'info', format: 'json' } }, { destination: other.stream });
    const ldap = subsystemLogger(root, 'ldap');
    const connection = ldap.child({ conn: 1 });
    connection.debug('hidden');
    setLogLevel('debug', root);
    connection.debug('shown');
    ldap.child({ conn: 2 }).debug('new child shown');
    otherRoot.debug('other family untouched');
    setLogLevel(root, 'warn'); // the (logger, level) order src/server.ts uses
    connection.info('hidden again');
    connection.warn('warned');
    assert.deepEqual(parse(lines).map((r) => r.msg), ['shown', 'new child shown', 'warned']);
    assert.deepEqual(other.lines, []);
  });

  it('never writes a password: keys, child bindings and LDAP attribute shapes', () => {
    const { stream, lines } = capture();
    const root = createLogger({ log: { level: 'trace', format: 'json' } }, { destination: stream });
    const child = root.child({ bind: { dn: 'uid=bob,o=ispman', credentials: 'S3cret-binding' } });
    child.info({
      request: { userPassword: 'S3cret-1', userpassword: ['S3cret-2'], newPassword: 'S3cret-3', oldPasswd: 'S3cret-4' },
      attributes: [{ type: 'userPassword', values: ['S3cret-5'] }, { type: 'mail', values: ['bob@example.com'] }],
      changes: [{ operation: 'replace', modification: { type: 'USERPASSWORD', vals: ['S3cret-6'] } }],
      auth: { passwordScheme: '{SSHA512}' },
    }, 'modify');
    const text = lines.join('\n');
    assert.doesNotMatch(text, /S3cret/);
    const [record] = parse(lines) as any[];
    assert.equal(record.request.userPassword, '[Redacted]');
    assert.equal(record.attributes[1].values[0], 'bob@example.com');
    assert.equal(record.auth.passwordScheme, '{SSHA512}', 'option names that mention passwords are not secrets');
    assert.equal(record.bind.dn, 'uid=bob,o=ispman');
    assert.equal(record.bind.credentials, '[Redacted]');
    const input = { password: 'x', nested: { keep: 1 } };
    const output = redactSecrets(input);
    assert.equal(input.password, 'x', 'the caller\'s object is not modified');
    assert.equal(output.nested, input.nested, 'unchanged parts are shared, not copied');
  });

  it('is readable on a terminal: pretty when format is pretty, or auto on a TTY', () => {
    const tty = capture(true);
    subsystemLogger(createLogger({ log: { level: 'info', format: 'auto' } }, { destination: tty.stream }), 'dns').info({ zone: 'example.com', password: 'S3cret' }, 'zone loaded');
    assert.equal(tty.lines.length, 1);
    assert.match(tty.lines[0], /INFO .*\[dns\].* zone loaded .*zone=.*example\.com/);
    assert.doesNotMatch(tty.lines[0], /S3cret|^\{/);
    const plain = formatPrettyLine(JSON.stringify({ level: 50, time: '2026-11-25T13:40:17.123Z', msg: 'failed', err: { message: 'boom', stack: 'Error: boom\n    at x' }, count: 2 }), false);
    assert.equal(plain, '13:40:17.123 ERROR failed count=2\n    Error: boom\n        at x\n');
  });

  it('samples the access log and honours log.access', () => {
    const { stream, lines } = capture();
    const root = createLogger({ log: { level: 'info', format: 'json' } }, { destination: stream });
    const draws = [0.1, 0.9, 0.3, 0.7];
    const access = createAccessLog(root, { access: false, accessSample: 1 }, () => draws.shift() ?? 0);
    assert.equal(access.enabled, false);
    access.record({ proto: 'ldap', op: 'search' });
    assert.equal(lines.length, 0);
    access.update({ access: true, accessSample: 0.5 });
    assert.equal(access.enabled, true);
    for (let i = 0; i < 4; i++) access.record({ proto: 'dns', qname: `q${i}.example.com` });
    assert.deepEqual(parse(lines).map((r) => [r.subsystem, r.qname]), [['access', 'q0.example.com'], ['access', 'q2.example.com']]);
  });
});
