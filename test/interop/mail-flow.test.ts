// Mail really flows (issue 12 part 6): a domain and five users provisioned with `ispd domain add` and
// `ispd user add` (one per mail store, an alias, a forward), then a real Postfix of its own, configured with ISPMan 1.4's LDAP maps
// against ispd (relay domains, relay recipients, virtual aliases, transport to the user's mailHost over
// LMTP), takes messages from swaks on a loopback port and hands each one to the mail store the
// directory names; smtp-server instances play the stores mail1 … mail5. Unknown recipients are refused
// at RCPT, domains ispd does not host are refused relay, and a deleted user's mail is refused at once.
// Nothing leaves the machine: no DNS lookups, loopback only, unrouted mail bounces locally.

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { describeResult, requirePrograms, runClient, type ClientResult } from '../support/clients';
import { ISPD_CLI, startIspd, type IspdHandle } from '../support/ispd-process';
import { startMailStores, type MailStores } from '../support/mail-stores';
import { POSTFIX_MASTER, startPostfix, type PostfixInstance } from '../support/postfix-instance';
import { makeTempDir } from '../support/server-process';

const POSTFIX_LDAP_PLUGIN = '/usr/lib/postfix/postfix-ldap.so';
const DOMAIN = 'example.org';
const STORES = ['mail1.isp.example', 'mail2.isp.example', 'mail3.isp.example', 'mail4.isp.example', 'mail5.isp.example'];
/** One user per store; ann has an alias, ben a forward to cat (on another store). */
const USERS = [
  { name: 'ann', store: STORES[0], aliases: [`sales@${DOMAIN}`], forwards: [] as string[] },
  { name: 'ben', store: STORES[1], aliases: [], forwards: [`cat@${DOMAIN}`] },
  { name: 'cat', store: STORES[2], aliases: [], forwards: [] },
  { name: 'dan', store: STORES[3], aliases: [], forwards: [] },
  { name: 'eve', store: STORES[4], aliases: [], forwards: [] },
];

/** Transcripts of the provisioning commands and swaks runs, printed at the end for the closing note. */
const transcripts: string[] = [];

describe('interop: mail flows through Postfix with ISPMan\'s LDAP maps to the store ispd names (swaks, smtp-server)', function () {
  this.timeout(180000);
  let ispd: IspdHandle | undefined;
  let stores: MailStores | undefined;
  let postfix: PostfixInstance | undefined;
  let dir: string | undefined;

  before(async function () {
    requirePrograms(this, 'postfix', 'postmap', POSTFIX_MASTER, POSTFIX_LDAP_PLUGIN, 'swaks', 'dig');
    // Postfix's maps bind anonymously, as with ISPMan's slapd
    ispd = await startIspd({ config: ['--set', 'ldap.anonymousRead=true', '--set', 'ldap.workers=1'] });
    await provision();
    stores = await startMailStores(STORES);
    dir = makeTempDir('mail-flow');
    postfix = await startPostfix({ dir, ldapPort: ispd.ldapPort, tables: { 'mail-stores': stores.transportTable() } });
  });

  after(async () => {
    if (postfix) await postfix.stop();
    if (stores) await stores.stop();
    if (ispd) await ispd.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    if (transcripts.length) console.log(`      provisioning and swaks transcripts:\n${transcripts.join('\n')}`);
  });

  /** `ispd …` against the served store, as a help desk runs it (the serving ispd follows the commits). */
  async function ispdCli(args: string[]): Promise<ClientResult> {
    const result = await runClient(process.execPath, [ISPD_CLI, ...args, '--db', ispd!.dbFile], { timeoutMs: 60000 });
    assert.equal(result.code, 0, describeResult(result));
    transcripts.push(`      $ ispd ${args.join(' ')}\n        ${result.stdout.trim()}`);
    return result;
  }

  /** The domain and one user per store, with an alias and a forward, through the provisioning CLI. */
  async function provision(): Promise<void> {
    await ispdCli(['domain', 'add', DOMAIN, '--mail-delivery', 'local']);
    for (const user of USERS) {
      await ispdCli([
        'user', 'add', `${user.name}@${DOMAIN}`, '--password', `${user.name}-Secret-1`, '--mailhost', user.store,
        ...(user.aliases.length ? ['--alias', user.aliases.join(',')] : []),
        ...(user.forwards.length ? ['--forward', user.forwards.join(',')] : []),
      ]);
    }
  }

  async function deleteUser(name: string): Promise<void> {
    await ispdCli(['user', 'del', `${name}@${DOMAIN}`]);
  }

  let sequence = 0;
  /** Sends one message with swaks; the marker in its subject and body identifies it at the stores. */
  async function swaks(to: string): Promise<{ result: ClientResult; marker: string }> {
    const marker = `ispd-mail-flow-${process.pid}-${++sequence}`;
    const result = await runClient('swaks', [
      '--server', `127.0.0.1:${postfix!.smtpPort}`, '--helo', 'client.ispd-test.invalid', '--from', 'sender@client.ispd-test.invalid',
      '--to', to, '--header', `Subject: ${marker}`, '--body', `${marker}\n`, '--timeout', '20',
    ], { timeoutMs: 40000 });
    transcripts.push(`      --- swaks --to ${to} (exit ${result.code})\n${result.stdout.split('\n').filter((line) => /^\s*(<-|->|<\*\*|\*\*\*|=== Connected)/.test(line) && !/^\s*(<-|->)\s+(Subject|Date|To|From|Message-Id|X-Mailer|$)/i.test(line) && !/^\s*<-\s+250-/.test(line)).map((line) => `        ${line}`).join('\n')}`);
    return { result, marker };
  }

  const explain = (result: ClientResult): string => `${describeResult(result)}\n  maillog (tail):\n${postfix!.maillog().split('\n').slice(-15).join('\n')}`;

  /** Sends to `to` and checks the message arrives at exactly the stores and recipients given. */
  async function expectDelivered(to: string, expected: Array<{ store: string; recipient: string }>): Promise<void> {
    const { result, marker } = await swaks(to);
    assert.equal(result.code, 0, explain(result));
    const arrived = await stores!.waitFor(marker, expected.length).catch((error: Error) => assert.fail(`${error.message}\n${explain(result)}`));
    // give a wrong extra delivery a moment to show up too
    await new Promise((resolve) => setTimeout(resolve, 500));
    const all = stores!.deliveries.filter((delivery) => delivery.message.includes(marker));
    const seen = all.flatMap((delivery) => delivery.recipients.map((recipient) => `${delivery.store} ${recipient}`)).sort();
    assert.deepEqual(seen, expected.map((e) => `${e.store} ${e.recipient}`).sort(), explain(result));
    assert.ok(arrived.length > 0);
  }

  it('right after provisioning, postmap finds ann\'s store through ISPMan\'s transport map and dig finds the zone', async () => {
    const postmap = await runClient('postmap', ['-c', postfix!.dir, '-q', `ann@${DOMAIN}`, `ldap:${postfix!.dir}/ldap-transport-maps.cf`], { timeoutMs: 20000 });
    transcripts.push(`      $ postmap -q ann@${DOMAIN} ldap:ldap-transport-maps.cf\n        ${postmap.stdout.trim()}`);
    assert.equal(postmap.code, 0, describeResult(postmap));
    assert.equal(postmap.stdout.trim(), `lmtp:[${STORES[0]}]`, describeResult(postmap));
    const dig = await runClient('dig', ['@127.0.0.1', '-p', String(ispd!.dnsPort), '+norec', '+tries=1', '+time=3', '+short', DOMAIN, 'MX'], { timeoutMs: 15000 });
    transcripts.push(`      $ dig +short ${DOMAIN} MX\n${dig.stdout.trim().split('\n').map((line) => `        ${line}`).join('\n')}`);
    assert.equal(dig.code, 0, describeResult(dig));
    assert.ok(dig.stdout.trim().length > 0, `the new zone answers MX\n${describeResult(dig)}`);
  });

  it('a message to each user arrives at the store its mailHost names, and at no other', async () => {
    for (const user of USERS.filter((u) => u.forwards.length === 0)) {
      await expectDelivered(`${user.name}@${DOMAIN}`, [{ store: user.store, recipient: `${user.name}@${DOMAIN}` }]);
    }
  });

  it('the address is matched case-insensitively', () => expectDelivered(`Eve@Example.ORG`, [{ store: STORES[4], recipient: `eve@${DOMAIN}` }]));

  it('a message to an alias (mailAlias) arrives at its owner\'s store, addressed to the owner', () =>
    expectDelivered(`sales@${DOMAIN}`, [{ store: STORES[0], recipient: `ann@${DOMAIN}` }]));

  it('a message to a user with a forward (mailForwardingAddress) arrives in the user\'s store and at the forward\'s store', () =>
    expectDelivered(`ben@${DOMAIN}`, [
      { store: STORES[1], recipient: `ben@${DOMAIN}` },
      { store: STORES[2], recipient: `cat@${DOMAIN}` },
    ]));

  it('an unknown recipient of a hosted domain is rejected at RCPT (relay recipient table)', async () => {
    const { result } = await swaks(`nobody@${DOMAIN}`);
    assert.equal(result.code, 24, explain(result)); // swaks: the server refused the recipient
    assert.match(result.stdout, /<\*\* 550 5\.1\.1 <nobody@example\.org>: Recipient address rejected: User unknown in relay recipient table/, explain(result));
  });

  it('a domain ispd does not host is refused relay', async () => {
    const { result } = await swaks('someone@not-hosted.example');
    assert.equal(result.code, 24, explain(result));
    assert.match(result.stdout, /<\*\* 554 5\.7\.1 <someone@not-hosted\.example>: Relay access denied/, explain(result));
  });

  it('after the user is deleted, mail to that user is rejected at RCPT (and the others still flow)', async () => {
    await expectDelivered(`dan@${DOMAIN}`, [{ store: STORES[3], recipient: `dan@${DOMAIN}` }]);
    await deleteUser('dan');
    const { result } = await swaks(`dan@${DOMAIN}`);
    assert.equal(result.code, 24, explain(result));
    assert.match(result.stdout, /<\*\* 550 5\.1\.1 <dan@example\.org>: Recipient address rejected: User unknown in relay recipient table/, explain(result));
    await expectDelivered(`cat@${DOMAIN}`, [{ store: STORES[2], recipient: `cat@${DOMAIN}` }]);
  });

  it('Postfix looked nothing up in DNS and delivered nothing off the machine', () => {
    const log = postfix!.maillog();
    const relays = [...log.matchAll(/relay=([^,\s]+)/g)].map((match) => match[1]);
    assert.ok(relays.length > 0, log);
    for (const relay of relays) assert.match(relay, /^127\.0\.0\.1\[127\.0\.0\.1\]:\d+$/, `a delivery went to ${relay}\n${log}`);
    assert.doesNotMatch(log, /Host or domain name not found|Name service error|dns/i, log);
  });
});
