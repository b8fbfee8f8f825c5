// The access rules' levels: `write` includes `read` as in slapd, unless the by-clause is writeOnly
// (slapd's `=w`); the built-in ISPMan rules let admins read userPassword and keep it write-only for
// its owner and the domain account; acl.file accepts writeOnly only on a write.

import { strict as assert } from 'node:assert';
import { AccessControl, defaultRules } from '../../src/acl';
import { AclFileError, parseAclRules } from '../../src/acl/file';
import { DNNormalizer } from '../../src/directory/dn';
import { loadSchema } from '../../src/directory/schema';

describe('acl: write includes read unless writeOnly', () => {
  const dn = new DNNormalizer(loadSchema());
  const base = dn.normalize('o=ispman');
  const admins = dn.normalize('ou=admins,o=ispman');
  const user = dn.normalize('uid=bob_example_com,ou=users,ispmanDomain=example.com,o=ispman');
  const domain = dn.normalize('ispmanDomain=example.com,o=ispman');
  const admin = { dnNorm: dn.normalize('uid=ispman,ou=admins,o=ispman') };
  const builtIn = new AccessControl(defaultRules({ baseNorm: base, adminsNorm: admins, servicesNorm: dn.normalize('ou=services,o=ispman'), anonymousRead: true }), admins, base);

  it('built-in rules: an admin reads, compares and writes userPassword (ISPMan\'s slapd)', () => {
    for (const need of ['read', 'compare', 'search', 'write'] as const) assert.equal(builtIn.can(admin, user, 'userpassword', need), true, need);
  });

  it('built-in rules: the user and its domain account set userPassword but never read it; anyone may bind with it', () => {
    for (const who of [{ dnNorm: user }, { dnNorm: domain }]) {
      assert.equal(builtIn.can(who, user, 'userpassword', 'write'), true);
      for (const need of ['read', 'compare', 'search'] as const) assert.equal(builtIn.can(who, user, 'userpassword', need), false, need);
    }
    assert.equal(builtIn.can({ dnNorm: '' }, user, 'userpassword', 'auth'), true);
    assert.equal(builtIn.can({ dnNorm: '' }, user, 'userpassword', 'read'), false);
  });

  it('acl.file: a service account with read gets the hashes; writeOnly keeps them from an admin', () => {
    const rules = parseAclRules(
      'rules:\n  - to: { attrs: [userPassword] }\n    by:\n      - { who: admins, access: write, writeOnly: true }\n      - { dn: "uid=pureftpd,ou=services,o=ispman", access: read }\n      - { who: anyone, access: auth }\n',
      dn,
    );
    const acl = new AccessControl(rules, admins, base);
    assert.equal(acl.can(admin, user, 'userpassword', 'write'), true);
    assert.equal(acl.can(admin, user, 'userpassword', 'read'), false);
    assert.equal(acl.can({ dnNorm: dn.normalize('uid=pureftpd,ou=services,o=ispman') }, user, 'userpassword', 'read'), true);
  });

  it('acl.file: writeOnly on anything but write is an error naming the rule', () => {
    assert.throws(() => parseAclRules('rules:\n  - to: { attrs: [userPassword] }\n    by:\n      - { who: self, access: read, writeOnly: true }\n', dn), (e: Error) => e instanceof AclFileError && /rules\[0\]\.by\[0\]\.writeOnly/.test(e.message));
  });
});
