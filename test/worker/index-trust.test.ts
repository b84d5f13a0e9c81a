/**
 * The worker's trust in the Redis index, as a state machine with no I/O: every
 * transition, driven by what a worker sees (claims, run ids, rebuild outcomes) and the
 * injected time.
 */
import { expect } from 'chai';
import { IndexTrust, IndexTrustTransitionError, type IndexTrustStatus, REBUILD_BACKOFF, assertTransition } from '../../src/worker/index-trust.ts';

const INTERVAL_MS = 60_000;
const T0 = 1_000_000;

/** A machine whose backoff jitter is pinned to the longest wait, and its log of state changes. */
function machine(): { trust: IndexTrust; changes: string[] } {
  const changes: string[] = [];
  const trust = new IndexTrust({
    reconcileIntervalMs: INTERVAL_MS,
    random: () => 1,
    onChange: (from, to) => changes.push(`${from.state} -> ${to.state}`),
  });
  return { trust, changes };
}

/** A machine past its start-up: its first rebuild ran and it trusts the index. */
function trusted(): { trust: IndexTrust; changes: string[] } {
  const made = machine();
  expect(made.trust.rebuildToStart(T0)).to.deep.equal({ reason: 'worker start', lostData: false });
  made.trust.rebuildEnded('rebuilt', T0 + 10);
  made.trust.runIdSeen('run-a');
  made.changes.length = 0;
  return made;
}

const reasonOf = (status: IndexTrustStatus) => ('suspicion' in status ? status.suspicion.reason : undefined);

describe('the trust in the Redis index (a state machine)', () => {
  it('starts suspect ("worker start"), rebuilds without deleting the marker, and trusts the index once the rebuild ends', () => {
    const { trust, changes } = machine();
    expect(trust.state).to.equal('suspect');
    expect(trust.trusted).to.equal(false);
    expect(trust.runIdCheckDue, 'the run id is read before the first claim').to.equal(true);
    const rebuild = trust.rebuildToStart(T0);
    expect(rebuild).to.deep.equal({ reason: 'worker start', lostData: false });
    expect(trust.rebuildToStart(T0 + 1), 'one rebuild at a time').to.equal(null);
    expect(trust.markerSeen(false), 'the marker is missing while the start-up rebuild runs: nothing new').to.equal(false);
    trust.rebuildEnded('rebuilt', T0 + 5);
    expect(trust.state).to.equal('trusted');
    expect(changes).to.deep.equal(['suspect -> rebuilding', 'rebuilding -> trusted']);
  });

  it('rebuilds a trusted index every reconcile interval, by the injected time, and stays trusted meanwhile', () => {
    const { trust, changes } = trusted();
    expect(trust.rebuildToStart(T0 + INTERVAL_MS - 1)).to.equal(null);
    expect(trust.rebuildToStart(T0 + INTERVAL_MS)).to.deep.equal({ reason: 'periodic', lostData: false });
    expect(trust.state).to.equal('refreshing');
    expect(trust.trusted).to.equal(true);
    trust.rebuildEnded('rebuilt', T0 + INTERVAL_MS + 5);
    expect(trust.rebuildToStart(T0 + 2 * INTERVAL_MS - 1), 'the interval runs from the last start').to.equal(null);
    expect(changes).to.deep.equal(['trusted -> refreshing', 'refreshing -> trusted']);
  });

  it('a failed periodic rebuild leaves the index trusted; the next waits for the interval and the backoff', () => {
    const { trust } = trusted();
    trust.rebuildToStart(T0 + INTERVAL_MS);
    expect(trust.rebuildEnded('failed', T0 + INTERVAL_MS + 5)).to.deep.equal({ retryInMs: REBUILD_BACKOFF.baseMs });
    expect(trust.state).to.equal('trusted');
    expect(trust.rebuildsFailing).to.equal(true);
    expect(trust.rebuildToStart(T0 + 2 * INTERVAL_MS)).to.deep.equal({ reason: 'periodic', lostData: false });
    trust.rebuildEnded('rebuilt', T0 + 2 * INTERVAL_MS + 5);
    expect(trust.rebuildsFailing).to.equal(false);
  });

  it('a missing index marker makes a trusted index suspect once (said once), and the rebuild for it deletes the marker first', () => {
    const { trust, changes } = trusted();
    expect(trust.markerSeen(true)).to.equal(false);
    expect(trust.markerSeen(false), 'said').to.equal(true);
    expect(trust.markerSeen(false), 'not said again').to.equal(false);
    expect(trust.status).to.deep.equal({ state: 'suspect', suspicion: { reason: 'index marker missing', lostData: true } });
    expect(trust.rebuildToStart(T0 + 20)).to.deep.equal({ reason: 'index marker missing', lostData: true });
    expect(trust.markerSeen(false), 'our own rebuild deleted it').to.equal(false);
    expect(trust.state).to.equal('rebuilding');
    trust.rebuildEnded('rebuilt', T0 + 30);
    expect(trust.state).to.equal('trusted');
    expect(changes).to.deep.equal(['trusted -> suspect', 'suspect -> rebuilding', 'rebuilding -> trusted']);
  });

  it('data lost during a periodic rebuild: that rebuild cannot restore trust, a new one follows it', () => {
    const { trust, changes } = trusted();
    trust.rebuildToStart(T0 + INTERVAL_MS);
    expect(trust.markerSeen(false)).to.equal(true);
    expect(trust.state).to.equal('rebuilding-stale');
    expect(trust.trusted).to.equal(false);
    expect(trust.rebuildToStart(T0 + INTERVAL_MS + 1), 'not while ours runs').to.equal(null);
    trust.rebuildEnded('rebuilt', T0 + INTERVAL_MS + 5);
    expect(trust.state).to.equal('suspect');
    expect(trust.rebuildToStart(T0 + INTERVAL_MS + 6)).to.deep.equal({ reason: 'index marker missing', lostData: true });
    expect(changes).to.deep.equal(['trusted -> refreshing', 'refreshing -> rebuilding-stale', 'rebuilding-stale -> suspect', 'suspect -> rebuilding']);
  });

  it('Redis restarting (a new run id after a reconnection) makes the index suspect; the same run id does not', () => {
    const { trust } = trusted();
    trust.redisReconnected();
    expect(trust.runIdCheckDue).to.equal(true);
    trust.runIdSeen('run-a');
    expect(trust.runIdCheckDue).to.equal(false);
    expect(trust.state).to.equal('trusted');
    trust.redisReconnected();
    trust.runIdSeen('run-b');
    expect(trust.status).to.deep.equal({ state: 'suspect', suspicion: { reason: 'Redis restarted (run id changed)', lostData: true } });
  });

  it('a restart while our rebuild runs: the rebuild goes stale, and the new suspicion is rebuilt for after it', () => {
    const { trust } = trusted();
    trust.markerSeen(false);
    trust.rebuildToStart(T0 + 20);
    trust.redisReconnected();
    trust.runIdSeen('run-b');
    expect(trust.state).to.equal('rebuilding-stale');
    expect(reasonOf(trust.status)).to.equal('Redis restarted (run id changed)');
    trust.rebuildEnded('rebuilt', T0 + 30);
    expect(trust.rebuildToStart(T0 + 31)).to.deep.equal({ reason: 'Redis restarted (run id changed)', lostData: true });
  });

  it('Redis returning after degraded mode: suspect at once, its run id taken as known, rebuilt at once', () => {
    const { trust } = trusted();
    trust.redisReconnected();
    trust.redisReturned('run-c');
    expect(trust.runIdCheckDue).to.equal(false);
    expect(trust.rebuildToStart(T0 + 20)).to.deep.equal({ reason: 'Redis returned', lostData: true });
    trust.rebuildEnded('rebuilt', T0 + 30);
    trust.redisReconnected();
    trust.runIdSeen('run-c');
    expect(trust.state).to.equal('trusted');
  });

  it('failed rebuilds back off (doubling, capped), by the injected time, and a success ends the episode', () => {
    const { trust, changes } = trusted();
    trust.markerSeen(false);
    let now = T0 + 100;
    const waits: number[] = [];
    for (let failures = 1; failures <= 8; failures += 1) {
      expect(trust.rebuildToStart(now), `attempt ${failures}`).to.not.equal(null);
      const backoff = trust.rebuildEnded('failed', now);
      waits.push(backoff?.retryInMs ?? -1);
      expect(trust.state).to.equal('rebuild-backoff');
      expect(trust.rebuildToStart(now + (backoff?.retryInMs ?? 0) - 1), 'not before the backoff').to.equal(null);
      now += backoff?.retryInMs ?? 0;
    }
    expect(waits).to.deep.equal([500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
    expect(trust.rebuildsFailing).to.equal(true);
    trust.rebuildToStart(now);
    trust.rebuildEnded('rebuilt', now + 5);
    expect(trust.state).to.equal('trusted');
    expect(trust.rebuildsFailing).to.equal(false);
    expect(changes.slice(0, 4)).to.deep.equal([
      'trusted -> suspect',
      'suspect -> rebuilding',
      'rebuilding -> rebuild-backoff',
      'rebuild-backoff -> rebuilding',
    ]);
  });

  it('another worker holding the rebuild lock: trusted when the marker is back, and the lock is tried again meanwhile', () => {
    const { trust } = trusted();
    trust.markerSeen(false);
    trust.rebuildToStart(T0 + 20);
    trust.rebuildEnded('lock-held-elsewhere', T0 + 30);
    expect(trust.state).to.equal('awaiting-other-rebuild');
    expect(trust.trusted).to.equal(false);
    expect(trust.markerSeen(false)).to.equal(false);
    expect(trust.rebuildToStart(T0 + 40), 'that worker may have died: try the lock again').to.deep.equal({ reason: 'index marker missing', lostData: true });
    trust.rebuildEnded('lock-held-elsewhere', T0 + 50);
    trust.markerSeen(true);
    expect(trust.state).to.equal('trusted');
  });

  it('refuses a move its table does not allow, with a stable code', () => {
    expect(() => assertTransition('trusted', 'rebuilding'))
      .to.throw(IndexTrustTransitionError)
      .with.property('code', 'index_trust_transition');
    expect(() => assertTransition('suspect', 'trusted')).to.throw(IndexTrustTransitionError);
    expect(() => trusted().trust.rebuildEnded('rebuilt', T0), 'no rebuild of ours was running').to.throw(IndexTrustTransitionError);
  });
});
