// The command line the ways operators start it (design §9): `npx ispd`, `./bin/ispd`, and an `npm link`
// symlink on the PATH. Each must run the command, not load the code and exit silently (npx starts the script
// under node_modules/.bin or its own cache path, which the old "argv[1] ends in /bin/ispd" test missed).

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describeResult, runClient } from '../support/clients';
import { makeTempDir, REPO_ROOT } from '../support/server-process';

/** What `ispd --help` prints first, and a command it lists. */
const USAGE = /^usage: ispd <command> \[options\]/;
const LISTS = /check-config/;

describe('the ispd command line entry points', function () {
  this.timeout(120000);
  const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { main: string; bin: Record<string, string> };
  const bin = path.join(REPO_ROOT, pkg.bin.ispd);
  // No registry, no update check: npx and npm link work from what is on this machine.
  const npmEnv = { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };

  it('package.json "main" names a file that exists and loads', () => {
    const main = path.join(REPO_ROOT, pkg.main);
    assert.ok(fs.existsSync(main), `${pkg.main} does not exist`);
    const api = require(REPO_ROOT) as { startServer?: unknown; openStore?: unknown };
    assert.equal(typeof api.startServer, 'function');
    assert.equal(typeof api.openStore, 'function');
  });

  it('./bin/ispd --help prints the usage and exits 0', async () => {
    const r = await runClient(bin, ['--help'], { cwd: REPO_ROOT });
    assert.equal(r.code, 0, describeResult(r));
    assert.match(r.stdout, USAGE);
    assert.match(r.stdout, LISTS);
    const version = await runClient(bin, ['--version'], { cwd: REPO_ROOT });
    assert.equal(version.stdout.trim(), (require(path.join(REPO_ROOT, 'package.json')) as { version: string }).version);
    // A failure keeps its exit code through the bin script: 2 for bad usage.
    const bad = await runClient(bin, ['no-such-command'], { cwd: REPO_ROOT });
    assert.equal(bad.code, 2, describeResult(bad));
    assert.match(bad.stderr, /unknown command "no-such-command"/);
  });

  it('npx ispd --help (the package\'s own bin) prints the usage and exits 0', async () => {
    const r = await runClient('npx', ['--offline', 'ispd', '--help'], { cwd: REPO_ROOT, env: npmEnv, timeoutMs: 60000 });
    assert.equal(r.code, 0, describeResult(r));
    assert.match(r.stdout, USAGE);
    assert.match(r.stdout, LISTS);
    const check = await runClient('npx', ['--offline', 'ispd', 'check-config', '--help'], { cwd: REPO_ROOT, env: npmEnv, timeoutMs: 60000 });
    assert.equal(check.code, 0, describeResult(check));
    assert.match(check.stdout, /usage: ispd check-config/);
  });

  it('through an `npm link` symlink on the PATH (a private prefix: nothing global is touched)', async () => {
    const prefix = makeTempDir('npm-link');
    try {
      // npm link into the global prefix named by npm_config_prefix: <prefix>/lib/node_modules/ispd -> the
      // repository, <prefix>/bin/ispd -> ../lib/node_modules/ispd/bin/ispd (two symlinks deep, like a real install).
      const link = await runClient('npm', ['link', '--offline', '--ignore-scripts'], { cwd: REPO_ROOT, env: { ...npmEnv, npm_config_prefix: prefix }, timeoutMs: 90000 });
      assert.equal(link.code, 0, describeResult(link));
      const onPath = path.join(prefix, 'bin', 'ispd');
      assert.ok(fs.lstatSync(onPath).isSymbolicLink(), `${onPath} is not the symlink npm link makes`);
      assert.equal(fs.realpathSync(onPath), fs.realpathSync(bin));
      // Started by name from elsewhere, as a shell (or systemd's /usr/bin/env ispd) does.
      const env = { ...process.env, PATH: `${path.join(prefix, 'bin')}${path.delimiter}${process.env.PATH ?? ''}` };
      const r = await runClient('/usr/bin/env', ['ispd', '--help'], { cwd: prefix, env });
      assert.equal(r.code, 0, describeResult(r));
      assert.match(r.stdout, USAGE);
      const help = await runClient('/usr/bin/env', ['ispd', 'import', '--help'], { cwd: prefix, env });
      assert.equal(help.code, 0, describeResult(help));
      assert.match(help.stdout, /usage: ispd import/);
    } finally {
      fs.rmSync(prefix, { recursive: true, force: true });
    }
  });
});
