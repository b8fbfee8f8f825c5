import assert from 'node:assert/strict';
import { parseFilter, filterToString, compileFilter, planCandidates, AttributeNames } from '../../src/directory/filter';
import { loadSchema } from '../../src/directory/schema';

describe('filters (RFC 4515)', () => {
  const schema = loadSchema();
  const names = new AttributeNames(schema);
  const test = (f: string, attrs: Record<string, string[]>) => compileFilter(parseFilter(f), schema, names)(attrs, '');
  const bob = {
    objectClass: ['top', 'posixAccount', 'ispmanDomainUser'],
    uid: ['bob_developer_ch', 'bob@developer.ch'],
    mailLocalAddress: ['bob@developer.ch'],
    mailAlias: ['robert@developer.ch'],
    uidNumber: ['1007'],
    cn: ['Bob Builder'],
  };

  it('parses the string form with escapes (unlike @ldapjs/filter parseString)', () => {
    assert.deepEqual(parseFilter('(cn=a\\2ab)'), { type: 'equality', attribute: 'cn', value: 'a*b' });
    assert.deepEqual(parseFilter('(cn=caf\\c3\\a9)'), { type: 'equality', attribute: 'cn', value: 'café' });
    assert.equal(filterToString(parseFilter('(&(uid=a*b*c)(!(cn=x))(uidNumber>=3)(cn:caseExactMatch:=B)(sn=*))')), '(&(uid=a*b*c)(!(cn=x))(uidNumber>=3)(cn:caseExactMatch:=B)(sn=*))');
    assert.throws(() => parseFilter('(cn=x'));
    assert.throws(() => parseFilter('(cn=\\zz)'));
  });

  it('matches with the schema rules: case-insensitive mail, integer ordering, substrings, approx', () => {
    assert.equal(test('(mailLocalAddress=BOB@Developer.CH)', bob), true);
    assert.equal(test('(uid=Bob@developer.ch)', bob), true);
    assert.equal(test('(uidNumber>=1000)', bob), true);
    assert.equal(test('(uidNumber<=999)', bob), false);
    assert.equal(test('(cn=bob*)', bob), true);
    assert.equal(test('(cn=*build*)', bob), true);
    assert.equal(test('(cn=*x*)', bob), false);
    assert.equal(test('(cn~=bob builder)', bob), true);
    assert.equal(test('(objectclass=POSIXACCOUNT)', bob), true);
  });

  it('a filter on a supertype matches its subtypes (mailAlias SUP mailLocalAddress), as slapd does', () => {
    assert.equal(test('(mailLocalAddress=robert@developer.ch)', bob), true);
  });

  it('uses three-valued logic: unknown attributes are Undefined, NOT Undefined stays Undefined', () => {
    assert.equal(test('(nosuchattr=x)', bob), undefined);
    assert.equal(test('(!(nosuchattr=x))', bob), undefined);
    assert.equal(test('(|(nosuchattr=x)(uid=bob_developer_ch))', bob), true);
    assert.equal(test('(nosuchattr=*)', bob), false);
  });

  it('extensible match with a rule', () => {
    assert.equal(test('(cn:caseExactMatch:=Bob Builder)', bob), true);
    assert.equal(test('(cn:caseExactMatch:=bob builder)', bob), false);
  });

  it('plans index candidates only over indexed attributes', () => {
    const indexed = new Set(['objectclass', 'uid', 'maillocaladdress', 'mailalias', 'cn']);
    const plan = planCandidates(parseFilter('(|(mailLocalAddress=X@Y)(mailAlias=X@Y))'), schema, names, indexed);
    assert.equal(plan.kind, 'or');
    assert.deepEqual(planCandidates(parseFilter('(description=x)'), schema, names, indexed), { kind: 'all' });
    assert.deepEqual(planCandidates(parseFilter('(&(objectClass=*)(uid=bob*))'), schema, names, indexed), { kind: 'prefix', attr: 'uid', prefix: 'bob' });
    assert.deepEqual(planCandidates(parseFilter('(!(uid=x))'), schema, names, indexed), { kind: 'all' });
  });
});

describe('objectClass equality follows the class hierarchy', () => {
  const schema = loadSchema();
  const names = new AttributeNames(schema);
  it('(objectClass=person) matches an entry listing only inetOrgPerson, as slapd does', () => {
    const t = compileFilter(parseFilter('(objectClass=person)'), schema, names);
    assert.equal(t({ objectClass: ['inetOrgPerson'] }, ''), true);
    assert.equal(t({ objectClass: ['posixGroup'] }, ''), false);
  });
});

describe('extensible match with :dn', () => {
  const schema = loadSchema();
  const names = new AttributeNames(schema);
  it('(ou:dn:=users) matches entries whose DN has ou=users, as slapd does', () => {
    const t = compileFilter(parseFilter('(ou:dn:=Users)'), schema, names);
    assert.equal(t({ uid: ['x'] }, 'uid=x,ou=users,ispmandomain=example.com,o=ispman'), true);
    assert.equal(t({ uid: ['x'] }, 'uid=x,ou=admins,o=ispman'), false);
    assert.equal(compileFilter(parseFilter('(ou:=users)'), schema, names)({ uid: ['x'] }, 'uid=x,ou=users,o=ispman'), false);
  });
});
