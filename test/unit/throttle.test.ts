// Failed-bind throttling with an injected clock: every time in these tests is set by the test.
import { strict as assert } from 'node:assert';
import { BindThrottle, addressKey } from '../../src/auth';
import type { BindThrottleOptions } from '../../src/auth';

/** A throttle whose clock the test moves by hand (milliseconds). */
function makeThrottle(options: Partial<BindThrottleOptions> = {}): { throttle: BindThrottle; clock: { now: number } } {
  const clock = { now: 1_000_000 };
  const throttle = new BindThrottle({
    windowSeconds: 60,
    maxFailuresPerDn: 3,
    maxFailuresPerAddress: 5,
    now: () => clock.now,
    ...options,
  });
  return { throttle, clock };
}

const ALICE = 'uid=alice,ou=users,o=ispman';
const BOB = 'uid=bob,ou=users,o=ispman';

describe('auth/BindThrottle', () => {
  it('paces one DN from one address after its free failures, doubling the delay; other addresses bind at once', () => {
    const { throttle, clock } = makeThrottle();
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(throttle.check(ALICE, '10.0.0.1'), { refused: false, delayMs: 0 }, `attempt ${i + 1}`);
      throttle.recordFailure(ALICE, '10.0.0.1');
    }
    const first = throttle.check(ALICE, '10.0.0.1');
    assert.deepEqual(first, { refused: false, delayMs: 1000, reason: 'dn' });
    clock.now += 1000;
    throttle.recordFailure(ALICE, '10.0.0.1');
    assert.equal(throttle.check(ALICE, '10.0.0.1').delayMs, 2000, 'doubles with every further failure');
    // The owner from a clean address, and other DNs, are not slowed: no lockout switch.
    assert.deepEqual(throttle.check(ALICE, '10.0.0.9'), { refused: false, delayMs: 0 });
    assert.deepEqual(throttle.check(BOB, '10.0.0.1'), { refused: false, delayMs: 0 });
  });

  it('parallel attempts of a paced key queue one delay apart, and past maxDelay are refused at once', () => {
    const { throttle } = makeThrottle({ maxDelayMs: 4000 });
    for (let i = 0; i < 3; i++) throttle.recordFailure(ALICE, '10.0.0.1');
    const waits = [1, 2, 3, 4, 5].map(() => throttle.check(ALICE, '10.0.0.1'));
    assert.deepEqual(waits.map((v) => v.delayMs), [1000, 2000, 3000, 4000, 0]);
    assert.deepEqual(waits.map((v) => v.refused), [false, false, false, false, true]);
  });

  it('a success from the address clears its pair; the address keeps its own count', () => {
    const { throttle } = makeThrottle({ maxFailuresPerAddress: 4 });
    for (let i = 0; i < 3; i++) throttle.recordFailure(ALICE, '192.0.2.1');
    assert.ok(throttle.hasFailures(ALICE, '192.0.2.1'));
    throttle.recordSuccess(ALICE, '192.0.2.1');
    assert.equal(throttle.hasFailures(ALICE, '192.0.2.1'), false);
    assert.equal(throttle.check(ALICE, '192.0.2.1').delayMs, 0);
    throttle.recordFailure(BOB, '192.0.2.1'); // the address now has 4 failures, its limit
    const verdict = throttle.check('uid=fresh,o=ispman', '192.0.2.1');
    assert.deepEqual([verdict.delayMs, verdict.reason], [1000, 'address']);
    assert.equal(throttle.check('uid=fresh,o=ispman', '192.0.2.2').delayMs, 0, 'another address is not affected');
  });

  it('guessing spread over many addresses: each address that failed on the DN is paced from its next try', () => {
    const { throttle } = makeThrottle();
    for (let i = 1; i <= 3; i++) throttle.recordFailure(ALICE, `10.0.0.${i}`);
    // The DN has 3 failures elsewhere: address 4 gets its one try, then is paced.
    assert.equal(throttle.check(ALICE, '10.0.0.4').delayMs, 0);
    throttle.recordFailure(ALICE, '10.0.0.4');
    assert.equal(throttle.check(ALICE, '10.0.0.4').delayMs, 1000);
    assert.equal(throttle.check(ALICE, '10.0.0.1').delayMs, 1000);
    assert.equal(throttle.check(ALICE, '10.0.9.9').delayMs, 0, 'a clean address binds at once');
  });

  it('the window forgets: a paced key is free again once its failures age out', () => {
    const { throttle, clock } = makeThrottle();
    for (let i = 0; i < 4; i++) throttle.recordFailure(ALICE, '10.0.0.1');
    assert.equal(throttle.check(ALICE, '10.0.0.1').delayMs > 0, true);
    clock.now += 60_001;
    assert.deepEqual(throttle.check(ALICE, '10.0.0.1'), { refused: false, delayMs: 0 });
  });

  it('a limit of 0 disables that counter', () => {
    const { throttle } = makeThrottle({ maxFailuresPerDn: 0, maxFailuresPerAddress: 2 });
    for (let i = 0; i < 10; i++) throttle.recordFailure(ALICE, `10.0.1.${i}`);
    assert.equal(throttle.check(ALICE, '10.0.2.1').delayMs, 0);
    assert.equal(throttle.stats().trackedDns, 0);
    const off = makeThrottle({ maxFailuresPerDn: 0, maxFailuresPerAddress: 0 }).throttle;
    for (let i = 0; i < 10; i++) off.recordFailure(ALICE, '10.0.0.1');
    assert.deepEqual(off.check(ALICE, '10.0.0.1'), { refused: false, delayMs: 0 });
  });

  it('forgets keys whose failures left the window', () => {
    const { throttle, clock } = makeThrottle();
    for (let i = 0; i < 100; i++) throttle.recordFailure(`uid=u${i},o=ispman`, `10.1.0.${i}`);
    assert.deepEqual(throttle.stats(), { trackedDns: 100, trackedAddresses: 100, trackedPairs: 100 });
    clock.now += 30_000;
    throttle.recordFailure(ALICE, '10.2.0.1');
    clock.now += 30_000; // the first 100 are now 60 s old, ALICE's 30 s
    assert.deepEqual(throttle.stats(), { trackedDns: 1, trackedAddresses: 1, trackedPairs: 1 });
    clock.now += 30_000;
    assert.deepEqual(throttle.stats(), { trackedDns: 0, trackedAddresses: 0, trackedPairs: 0 });
  });

  it('keeps at most maxTrackedKeys keys and a bounded number of failure times per key', () => {
    const { throttle, clock } = makeThrottle({ maxTrackedKeys: 10 });
    for (let i = 0; i < 25; i++) {
      clock.now += 1;
      throttle.recordFailure(`uid=u${i},o=ispman`, `10.3.0.${i}`);
      const stats = throttle.stats();
      assert.ok(stats.trackedDns <= 10 && stats.trackedAddresses <= 10 && stats.trackedPairs <= 10, JSON.stringify(stats));
    }
    const busy = makeThrottle({ maxDelayMs: 30_000 });
    for (let i = 0; i < 10_000; i++) {
      busy.clock.now += 1;
      busy.throttle.recordFailure(ALICE, '10.0.0.1');
    }
    assert.equal(busy.throttle.check(ALICE, '10.0.0.1').delayMs, 30_000, 'capped at maxDelay');
  });

  it('counts IPv4-mapped IPv6 as IPv4 and IPv6 clients per /64 network', () => {
    const { throttle } = makeThrottle({ maxFailuresPerAddress: 2, maxFailuresPerDn: 100 });
    throttle.recordFailure(ALICE, '::ffff:192.0.2.1');
    throttle.recordFailure(BOB, '192.0.2.1');
    assert.equal(throttle.check('uid=x,o=ispman', '192.0.2.1').delayMs, 1000);
    throttle.recordFailure(ALICE, '2001:db8:1:2::10');
    throttle.recordFailure(ALICE, '2001:db8:1:2:ffff::1');
    assert.equal(throttle.check('uid=x,o=ispman', '2001:db8:1:2:abcd::99').delayMs, 1000, 'same /64');
    assert.equal(throttle.check('uid=x,o=ispman', '2001:db8:1:3::10').delayMs, 0, 'another /64');
  });

  it('addressKey normalizes addresses', () => {
    assert.equal(addressKey('192.0.2.1'), '192.0.2.1');
    assert.equal(addressKey('::ffff:192.0.2.1'), '192.0.2.1');
    assert.equal(addressKey('::FFFF:c000:0201'), '192.0.2.1');
    assert.equal(addressKey('2001:DB8::1'), '2001:db8:0:0:0:0:0:0/64');
    assert.equal(addressKey('2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff', 48), '2001:db8:aaaa:0:0:0:0:0/48');
    assert.equal(addressKey('2001:db8::1', 128), '2001:db8:0:0:0:0:0:1/128');
    assert.equal(addressKey('2001:db8::1', 60), '2001:db8:0:0:0:0:0:0/60');
    assert.equal(addressKey('2001:db8:0:1f::1', 60), '2001:db8:0:10:0:0:0:0/60');
    assert.equal(addressKey('fe80::1%eth0'), 'fe80:0:0:0:0:0:0:0/64');
    assert.equal(addressKey('64:ff9b::192.0.2.1', 128), '64:ff9b:0:0:0:0:c000:201/128');
    assert.equal(addressKey('/run/ispd.sock'), '/run/ispd.sock');
    assert.equal(addressKey(''), '');
  });

  it('rejects nonsensical options', () => {
    assert.throws(() => new BindThrottle({ windowSeconds: 0, maxFailuresPerDn: 1, maxFailuresPerAddress: 1 }), /window/);
    assert.throws(() => new BindThrottle({ windowSeconds: 10, maxFailuresPerDn: -1, maxFailuresPerAddress: 1 }), /limits/);
    assert.throws(() => new BindThrottle({ windowSeconds: 10, maxFailuresPerDn: 1.5, maxFailuresPerAddress: 1 }), /limits/);
    assert.throws(() => new BindThrottle({ windowSeconds: 10, maxFailuresPerDn: 1, maxFailuresPerAddress: 1, maxTrackedKeys: 0 }), /maxTrackedKeys/);
  });

  it('uses a monotonic clock by default', () => {
    const throttle = new BindThrottle({ windowSeconds: 60, maxFailuresPerDn: 1, maxFailuresPerAddress: 100 });
    throttle.recordFailure(ALICE, '10.0.0.1');
    const verdict = throttle.check(ALICE, '10.0.0.1');
    assert.equal(verdict.refused, false);
    assert.ok(verdict.delayMs > 0 && verdict.delayMs <= 1000);
  });
});
