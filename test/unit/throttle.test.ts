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
  it('refuses a DN once it has the limit of failures within the window, and says for how long', () => {
    const { throttle, clock } = makeThrottle();
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(throttle.check(ALICE, '10.0.0.1'), { refused: false }, `attempt ${i + 1}`);
      throttle.recordFailure(ALICE, `10.0.0.${i + 1}`); // spread over addresses: only the DN counter fills
      clock.now += 1000;
    }
    const verdict = throttle.check(ALICE, '10.0.0.9');
    assert.equal(verdict.refused, true);
    assert.equal(verdict.reason, 'dn');
    // first failure at t0, now t0+3s: the oldest failure leaves the 60 s window in 57 s
    assert.equal(verdict.retryAfterMs, 57_000);
    assert.equal(throttle.check(BOB, '10.0.0.9').refused, false, 'other DNs are not affected');
  });

  it('is a sliding window: the DN is allowed again as its oldest failure ages out, one failure at a time', () => {
    const { throttle, clock } = makeThrottle();
    const start = clock.now;
    for (let i = 0; i < 3; i++) {
      clock.now = start + i * 10_000;
      throttle.recordFailure(ALICE, '10.0.0.1');
    }
    clock.now = start + 59_999;
    assert.equal(throttle.check(ALICE, '10.0.0.2').refused, true);
    clock.now = start + 60_000; // the failure at `start` is now outside the window
    assert.equal(throttle.check(ALICE, '10.0.0.2').refused, false);
    throttle.recordFailure(ALICE, '10.0.0.2'); // back at the limit with failures at +10 s, +20 s, +60 s
    const verdict = throttle.check(ALICE, '10.0.0.2');
    assert.equal(verdict.refused, true);
    assert.equal(verdict.retryAfterMs, 10_000);
    clock.now = start + 70_000;
    assert.equal(throttle.check(ALICE, '10.0.0.2').refused, false);
  });

  it('counts per client address with its own limit, across DNs', () => {
    const { throttle } = makeThrottle();
    for (let i = 0; i < 5; i++) {
      assert.equal(throttle.check(`uid=u${i},o=ispman`, '192.0.2.7').refused, false);
      throttle.recordFailure(`uid=u${i},o=ispman`, '192.0.2.7');
    }
    const verdict = throttle.check('uid=fresh,o=ispman', '192.0.2.7');
    assert.deepEqual([verdict.refused, verdict.reason], [true, 'address']);
    assert.equal(throttle.check('uid=fresh,o=ispman', '192.0.2.8').refused, false, 'another address is not affected');
  });

  it('a success clears the DN counter but not the address counter', () => {
    const { throttle } = makeThrottle({ maxFailuresPerAddress: 4 });
    for (let i = 0; i < 2; i++) throttle.recordFailure(ALICE, '192.0.2.1');
    throttle.recordSuccess(ALICE, '192.0.2.1');
    // ALICE starts again from zero: two more failures do not reach her limit of 3 ...
    for (let i = 0; i < 2; i++) throttle.recordFailure(ALICE, '192.0.2.1');
    assert.equal(throttle.check(ALICE, '192.0.2.2').refused, false);
    // ... but the address has 4 failures, its limit, so it is refused for anyone
    const verdict = throttle.check(BOB, '192.0.2.1');
    assert.deepEqual([verdict.refused, verdict.reason], [true, 'address']);
  });

  it('refuses even the right password while a DN is blocked (the caller answers it like a wrong one)', () => {
    const { throttle } = makeThrottle();
    for (let i = 0; i < 3; i++) throttle.recordFailure(ALICE, '10.0.0.1');
    // The caller checks before verifying; the check does not depend on what the password would say.
    assert.equal(throttle.check(ALICE, '10.0.0.2').refused, true);
  });

  it('refused attempts are not counted: hammering does not extend the block', () => {
    const { throttle, clock } = makeThrottle();
    const start = clock.now;
    for (let i = 0; i < 3; i++) throttle.recordFailure(ALICE, '10.0.0.1');
    for (let t = 1; t < 60; t++) {
      clock.now = start + t * 1000;
      assert.equal(throttle.check(ALICE, '10.0.0.1').refused, true);
    }
    clock.now = start + 60_000;
    assert.equal(throttle.check(ALICE, '10.0.0.1').refused, false);
  });

  it('a limit of 0 disables that counter', () => {
    const { throttle } = makeThrottle({ maxFailuresPerDn: 0, maxFailuresPerAddress: 2 });
    for (let i = 0; i < 10; i++) throttle.recordFailure(ALICE, `10.0.1.${i}`);
    assert.equal(throttle.check(ALICE, '10.0.2.1').refused, false);
    assert.equal(throttle.stats().trackedDns, 0);
    const off = makeThrottle({ maxFailuresPerDn: 0, maxFailuresPerAddress: 0 }).throttle;
    for (let i = 0; i < 10; i++) off.recordFailure(ALICE, '10.0.0.1');
    assert.equal(off.check(ALICE, '10.0.0.1').refused, false);
  });

  it('forgets keys whose failures left the window', () => {
    const { throttle, clock } = makeThrottle();
    for (let i = 0; i < 100; i++) throttle.recordFailure(`uid=u${i},o=ispman`, `10.1.0.${i}`);
    assert.deepEqual(throttle.stats(), { trackedDns: 100, trackedAddresses: 100 });
    clock.now += 30_000;
    throttle.recordFailure(ALICE, '10.2.0.1');
    assert.deepEqual(throttle.stats(), { trackedDns: 101, trackedAddresses: 101 });
    clock.now += 30_000; // the first 100 are now 60 s old, ALICE's 30 s
    assert.deepEqual(throttle.stats(), { trackedDns: 1, trackedAddresses: 1 });
    clock.now += 30_000;
    assert.deepEqual(throttle.stats(), { trackedDns: 0, trackedAddresses: 0 });
  });

  it('keeps at most maxTrackedKeys keys, dropping the least recently failed first', () => {
    const { throttle, clock } = makeThrottle({ maxTrackedKeys: 10, maxFailuresPerDn: 2 });
    for (let i = 0; i < 2; i++) throttle.recordFailure(ALICE, '10.0.0.1');
    assert.equal(throttle.check(ALICE, '10.9.9.9').refused, true);
    for (let i = 0; i < 25; i++) {
      clock.now += 1;
      throttle.recordFailure(`uid=u${i},o=ispman`, `10.3.0.${i}`);
      const stats = throttle.stats();
      assert.ok(stats.trackedDns <= 10 && stats.trackedAddresses <= 10, JSON.stringify(stats));
    }
    assert.equal(throttle.stats().trackedDns, 10);
    assert.equal(throttle.check(ALICE, '10.9.9.9').refused, false, 'the oldest key was evicted');
    // A key that keeps failing stays at the recent end and is not evicted.
    const { throttle: t2, clock: c2 } = makeThrottle({ maxTrackedKeys: 5, maxFailuresPerDn: 1000 });
    for (let i = 0; i < 50; i++) {
      c2.now += 1;
      t2.recordFailure(BOB, '10.0.0.1');
      t2.recordFailure(`uid=other${i},o=ispman`, '10.0.0.1');
    }
    assert.equal(t2.stats().trackedDns, 5);
    const bobLimit = makeThrottle({ maxTrackedKeys: 5, maxFailuresPerDn: 3 });
    for (let i = 0; i < 3; i++) {
      bobLimit.clock.now += 1;
      bobLimit.throttle.recordFailure(BOB, '10.0.0.1');
      for (let j = 0; j < 3; j++) bobLimit.throttle.recordFailure(`uid=o${i}-${j},o=ispman`, '10.0.0.1');
    }
    assert.equal(bobLimit.throttle.check(BOB, '10.8.8.8').refused, true, 'a recently failing key survives eviction');
  });

  it('keeps only `limit` failure times per key, however many failures come', () => {
    const { throttle, clock } = makeThrottle({ maxFailuresPerDn: 3 });
    const start = clock.now;
    for (let i = 0; i < 10_000; i++) {
      clock.now = start + i;
      throttle.recordFailure(ALICE, '10.0.0.1');
    }
    // blocked until the third most recent failure (at start + 9997) leaves the window
    assert.equal(throttle.check(ALICE, '10.0.0.2').retryAfterMs, 60_000 - 2);
  });

  it('counts IPv4-mapped IPv6 as IPv4 and IPv6 clients per /64 network', () => {
    const { throttle } = makeThrottle({ maxFailuresPerAddress: 2, maxFailuresPerDn: 100 });
    throttle.recordFailure(ALICE, '::ffff:192.0.2.1');
    throttle.recordFailure(BOB, '192.0.2.1');
    assert.equal(throttle.check('uid=x,o=ispman', '192.0.2.1').refused, true);
    throttle.recordFailure(ALICE, '2001:db8:1:2::10');
    throttle.recordFailure(ALICE, '2001:db8:1:2:ffff::1');
    assert.equal(throttle.check('uid=x,o=ispman', '2001:db8:1:2:abcd::99').refused, true, 'same /64');
    assert.equal(throttle.check('uid=x,o=ispman', '2001:db8:1:3::10').refused, false, 'another /64');
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
    assert.equal(verdict.refused, true);
    assert.ok(verdict.retryAfterMs! > 0 && verdict.retryAfterMs! <= 60_000);
  });
});
