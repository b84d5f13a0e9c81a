/**
 * Tokens trusted from memory between lookups (issue 10, the API hot path), and
 * revocation still honoured: a token looked up is trusted for FRESH_MS only while the
 * process hears revocations (LISTEN on the channel the revoke command NOTIFYs); a
 * revocation heard, or made through this process, is refused by the next request; one
 * nobody announced is noticed within FRESH_MS; while the listener is away every
 * request is looked up; expiry is exact. Freshness runs on an injected monotonic
 * clock, so nothing here waits for time to pass.
 */
import { expect } from 'chai';
import type pg from 'pg';
import { Authenticator, FRESH_MS } from '../../src/auth/authenticate.ts';
import { TOKEN_REVOKED_CHANNEL, listenForRevocations } from '../../src/auth/revocations.ts';
import { createToken, revokeToken } from '../../src/commands/tokens.ts';
import { createClient } from '../../src/db/pool.ts';
import { EVERY_TEAM } from '../../src/domain/team-scope.ts';
import { APP_ROLE, type TestContext, createTestContext } from '../support/context.ts';
import { del } from '../support/people.ts';
import { waitFor } from '../support/waiting.ts';

describe('tokens trusted between lookups, revocation honoured', () => {
  let t: TestContext;
  before(async () => {
    t = await createTestContext();
  });
  after(async () => t.close());

  /** Monotonic milliseconds for the authenticators under test, moved by hand. */
  let monotonic = 0;

  /** An authenticator as another API process would have it, and the token ids it heard revoked. */
  function apiProcess() {
    const heard: string[] = [];
    const authenticator = new Authenticator(t.pool, t.clock, t.deps.logger, { monotonicNow: () => monotonic });
    const hearing = {
      forget: (tokenId: string) => {
        heard.push(tokenId);
        authenticator.forget(tokenId);
      },
      revocationsHeard: (live: boolean) => authenticator.revocationsHeard(live),
    };
    return { authenticator, heard, hearing };
  }

  const applicationName = 'klaxon-test-revocations';
  function listen(hearing: Parameters<typeof listenForRevocations>[0]['authenticator']) {
    return listenForRevocations({
      connect: () => createClient({ databaseUrl: t.databaseUrl, applicationName, role: APP_ROLE }),
      authenticator: hearing,
      logger: t.deps.logger,
    });
  }

  async function newToken(name: string, expiresAt: Date | null = null): Promise<{ token: string; id: string }> {
    const created = await createToken(t.deps, { name, scopes: ['write'], teamId: null, expiresAt }, { via: 'test' });
    return { token: created.token, id: created.record.id };
  }

  /** Revoked by hand, as an UPDATE nobody announces. */
  async function revokeSilently(id: string): Promise<void> {
    await t.ownerPool.query('UPDATE api_tokens SET revoked_at = $2 WHERE id = $1', [id, t.clock.now()]);
  }

  const outcome = (authenticator: Authenticator, token: string) =>
    authenticator.authenticate(`Bearer ${token}`).then(
      () => 'accepted',
      (error: unknown) => (error instanceof Error ? error.message : String(error)),
    );

  it('without revocations heard, looks every token up: a revocation by hand is refused at once', async () => {
    const { authenticator } = apiProcess();
    const { token, id } = await newToken('looked up every time');
    expect(await outcome(authenticator, token)).to.equal('accepted');
    await revokeSilently(id);
    expect(await outcome(authenticator, token)).to.equal('the token has been revoked');
  });

  it('while revocations are heard, trusts a token for FRESH_MS: a revocation nobody announced is noticed by then', async () => {
    const { authenticator } = apiProcess();
    authenticator.revocationsHeard(true);
    const { token, id } = await newToken('trusted from memory');
    expect(await outcome(authenticator, token)).to.equal('accepted');
    await revokeSilently(id);
    // Trusted without a lookup: the revocation by hand is not seen yet...
    monotonic += FRESH_MS;
    expect(await outcome(authenticator, token)).to.equal('accepted');
    // ...and it is as soon as the trust runs out.
    monotonic += 1;
    expect(await outcome(authenticator, token)).to.equal('the token has been revoked');
    // A refused token stays refused: nothing remembers it.
    expect(await outcome(authenticator, token)).to.equal('the token has been revoked');
  });

  it('a revocation made through klaxon (the command the API and the CLI run) reaches a listening process, which refuses the next request', async () => {
    const other = apiProcess();
    const listener = listen(other.hearing);
    try {
      await waitFor('the listener to hear the channel', () => listener.isLive);
      const kept = await newToken('kept');
      const revoked = await newToken('revoked elsewhere');
      for (const token of [kept.token, revoked.token]) expect(await outcome(other.authenticator, token)).to.equal('accepted');

      // A revocation that rolls back announces nothing (NOTIFY goes out at commit)...
      const client = await t.pool.connect();
      try {
        await client.query('BEGIN');
        await client.query('UPDATE api_tokens SET revoked_at = $2 WHERE id = $1', [kept.id, t.clock.now()]);
        await client.query('SELECT pg_notify($1, $2)', [TOKEN_REVOKED_CHANNEL, kept.id]);
        await client.query('ROLLBACK');
      } finally {
        client.release();
      }
      // ...and one that commits does (notices arrive in commit order, so by the time this
      // one is heard, the rolled-back one would have been).
      await revokeToken(t.deps, EVERY_TEAM, revoked.id);
      await waitFor('the revocation to be heard', () => other.heard.includes(revoked.id));
      expect(other.heard).to.deep.equal([revoked.id]);

      expect(await outcome(other.authenticator, revoked.token)).to.equal('the token has been revoked');
      expect(await outcome(other.authenticator, kept.token)).to.equal('accepted');
    } finally {
      await listener.close();
    }
    expect(listener.isLive).to.equal(false);
  });

  it('while the listener is away nothing is trusted without a lookup; once it is back, trust starts over from new lookups', async () => {
    const other = apiProcess();
    const listener = listen(other.hearing);
    try {
      await waitFor('the listener to hear the channel', () => listener.isLive);
      const first = await newToken('revoked while nobody listened');
      const second = await newToken('looked up after the listener came back');
      expect(await outcome(other.authenticator, first.token)).to.equal('accepted');

      // The listener's connection is cut (a Postgres restart, a network blip).
      await t.ownerPool.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [applicationName]);
      await waitFor('the listener to notice', () => !listener.isLive);
      // Whatever was announced meanwhile is lost: the next request looks the token up (and
      // so it would even if the listener were back already: what it remembered is from before).
      await revokeSilently(first.id);
      expect(await outcome(other.authenticator, first.token)).to.equal('the token has been revoked');

      await waitFor('the listener to reconnect', () => listener.isLive, { timeoutMs: 10_000 });
      expect(await outcome(other.authenticator, second.token)).to.equal('accepted');
      await revokeSilently(second.id);
      expect(await outcome(other.authenticator, second.token)).to.equal('accepted');
      monotonic += FRESH_MS + 1;
      expect(await outcome(other.authenticator, second.token)).to.equal('the token has been revoked');
    } finally {
      await listener.close();
    }
  });

  it('requests with a token not in memory wait for one lookup, and one in use is looked up again in the background past half its trust', async () => {
    let reads = 0;
    const counted = {
      query: (...args: unknown[]) => {
        if (String((args[0] as { name?: string }).name) === 'tokens-by-public-id') reads += 1;
        return t.pool.query(...(args as [string]));
      },
    } as unknown as pg.Pool;
    const authenticator = new Authenticator(counted, t.clock, t.deps.logger, { monotonicNow: () => monotonic });
    authenticator.revocationsHeard(true);
    const { token, id } = await newToken('one lookup');
    const answers = await Promise.all(Array.from({ length: 20 }, () => outcome(authenticator, token)));
    expect(answers).to.deep.equal(Array.from({ length: 20 }, () => 'accepted'));
    expect(reads).to.equal(1);
    await revokeSilently(id);
    monotonic += FRESH_MS / 2 + 1;
    // Accepted from memory while the lookup runs in the background; one lookup, not one per request.
    expect(await Promise.all([outcome(authenticator, token), outcome(authenticator, token)])).to.deep.equal(['accepted', 'accepted']);
    expect(reads).to.equal(2);
    await waitFor('the lookup in the background to find the token revoked', async () => (await outcome(authenticator, token)) !== 'accepted');
    expect(await outcome(authenticator, token)).to.equal('the token has been revoked');
  });

  it('refuses a token trusted from memory at the instant it expires', async () => {
    const { authenticator } = apiProcess();
    authenticator.revocationsHeard(true);
    const { token } = await newToken('expiring', new Date(t.clock.now().getTime() + 60_000));
    expect(await outcome(authenticator, token)).to.equal('accepted');
    t.clock.advance(59_999);
    expect(await outcome(authenticator, token)).to.equal('accepted');
    t.clock.advance(1);
    expect(await outcome(authenticator, token)).to.equal('the token has expired');
  });

  it('DELETE /tokens/:id: the next request with the token is refused by the process that revoked it', async () => {
    t.deps.authenticator.revocationsHeard(true);
    try {
      const { token, id } = await newToken('revoked through the API');
      expect((await t.api.as(token).post('/incidents', { title: 'before the revocation' })).status).to.equal(201);
      expect((await del(t.api, `/tokens/${id}`)).status).to.equal(204);
      const refused = await t.api.as(token).post('/incidents', { title: 'after the revocation' });
      expect(refused.status).to.equal(401);
      expect(refused.body.code).to.equal('invalid_token');
    } finally {
      t.deps.authenticator.revocationsHeard(false);
    }
  });
});
