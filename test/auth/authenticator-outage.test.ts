/**
 * While Postgres is unreachable, a token that authenticated in the last few minutes is
 * still accepted (so /metrics keeps answering in an outage); an unknown one is not,
 * and the grace ends. Postgres is made unreachable by closing a TCP relay in front of it.
 */
import { once } from 'node:events';
import { type Server, type Socket, connect, createServer } from 'node:net';
import { expect } from 'chai';
import { Authenticator, OUTAGE_GRACE_MS } from '../../src/auth/authenticate.ts';
import { generateToken } from '../../src/auth/token-format.ts';
import { createToken } from '../../src/commands/tokens.ts';
import { createPool } from '../../src/db/pool.ts';
import { isDatabaseUnavailable } from '../../src/db/unavailable.ts';
import { APP_ROLE, type TestContext, createTestContext } from '../support/context.ts';

/** A TCP relay to Postgres that can be cut: every connection through it fails from then on. */
async function relayTo(target: URL): Promise<{ port: number; cut: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port || 5432), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => socket.destroy());
      socket.on('close', () => sockets.delete(socket));
    }
    client.pipe(upstream).pipe(client);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as { port: number }).port,
    cut: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('authentication while Postgres is unreachable', () => {
  let t: TestContext;
  before(async () => {
    t = await createTestContext();
  });
  after(async () => t.close());

  /** An authenticator on a pool whose connection to Postgres can be cut. */
  async function cuttable(): Promise<{ authenticator: Authenticator; cut: () => Promise<void>; end: () => Promise<void> }> {
    const relay = await relayTo(new URL(t.databaseUrl));
    const url = new URL(t.databaseUrl);
    url.host = `127.0.0.1:${relay.port}`;
    const pool = createPool({ databaseUrl: url.toString(), applicationName: 'klaxon-test-relay', role: APP_ROLE, max: 1, logger: t.deps.logger });
    pool.on('error', () => undefined); // the relay cut kills idle clients
    return { authenticator: new Authenticator(pool, t.clock, t.deps.logger), cut: relay.cut, end: () => pool.end() };
  }

  const outcome = (authenticator: Authenticator, token: string) =>
    authenticator.authenticate(`Bearer ${token}`).then(
      () => 'accepted',
      (error: unknown) => (isDatabaseUnavailable(error) ? 'database unavailable' : String(error)),
    );

  it('forgets a token it was told was revoked, expired or unknown: the grace never brings one back', async () => {
    const make = async (name: string, expiresAt: Date | null = null) =>
      (await createToken(t.deps, { name, scopes: ['metrics'], teamId: null, expiresAt }, { via: 'test' })).token;
    const revokedElsewhere = await make('revoked by another API process');
    const revokedHere = await make('revoked through this process');
    const expiring = await make('expiring', new Date(t.clock.now().getTime() + 60_000));
    const kept = await make('kept');
    const { authenticator, cut, end } = await cuttable();
    try {
      for (const token of [revokedElsewhere, revokedHere, expiring, kept]) expect(await outcome(authenticator, token)).to.equal('accepted');

      // Another process revokes one: this one learns it at its next lookup, and forgets it.
      await t.pool.query('UPDATE api_tokens SET revoked_at = $2 WHERE public_id = $1', [revokedElsewhere.slice(4, 16), t.clock.now()]);
      expect(await outcome(authenticator, revokedElsewhere)).to.include('revoked');
      // This process revokes one (DELETE /tokens/:id does this after the revocation commits).
      const { rows } = await t.pool.query<{ id: string }>('SELECT id FROM api_tokens WHERE public_id = $1', [revokedHere.slice(4, 16)]);
      authenticator.forget(rows[0]?.id ?? '');
      t.clock.advance(60_000);
      expect(await outcome(authenticator, expiring)).to.include('expired');

      await cut();
      expect(await outcome(authenticator, kept)).to.equal('accepted');
      expect(await outcome(authenticator, revokedElsewhere)).to.equal('database unavailable');
      expect(await outcome(authenticator, revokedHere)).to.equal('database unavailable');
      expect(await outcome(authenticator, expiring)).to.equal('database unavailable');
    } finally {
      await end();
    }
  });

  it('treats a token as revoked whatever time revoked_at names (even one the database would now refuse)', async () => {
    const { token } = await createToken(t.deps, { name: 'revoked in the past', scopes: ['read'], teamId: null, expiresAt: null }, { via: 'test' });
    await t.pool.query('UPDATE api_tokens SET revoked_at = $2 WHERE public_id = $1', [token.slice(4, 16), t.clock.now()]);
    // The injected clock goes back before the revocation: the token stays revoked.
    t.clock.advance(-3_600_000);
    expect((await t.api.as(token).get('/incidents')).status).to.equal(401);
    t.clock.advance(3_600_000);
  });

  it('accepts a token seen within the grace period, refuses one never seen, and stops after the grace', async () => {
    const { token } = await createToken(t.deps, { name: 'scraper', scopes: ['metrics'], teamId: null, expiresAt: null }, { via: 'test' });
    const relay = await relayTo(new URL(t.databaseUrl));
    const url = new URL(t.databaseUrl);
    url.host = `127.0.0.1:${relay.port}`;
    const pool = createPool({ databaseUrl: url.toString(), applicationName: 'klaxon-test-relay', role: APP_ROLE, max: 1, logger: t.deps.logger });
    pool.on('error', () => undefined); // the relay cut kills idle clients
    try {
      const authenticator = new Authenticator(pool, t.clock, t.deps.logger);
      const seen = await authenticator.authenticate(`Bearer ${token}`);
      expect(seen.scopes).to.deep.equal(['metrics']);

      await relay.cut();
      t.clock.advance(OUTAGE_GRACE_MS);
      expect((await authenticator.authenticate(`Bearer ${token}`)).tokenId).to.equal(seen.tokenId);

      const never = await authenticator.authenticate(`Bearer ${generateToken().token}`).catch((error: unknown) => error);
      expect(isDatabaseUnavailable(never), String(never)).to.equal(true);

      t.clock.advance(1);
      const late = await authenticator.authenticate(`Bearer ${token}`).catch((error: unknown) => error);
      expect(isDatabaseUnavailable(late), String(late)).to.equal(true);
    } finally {
      await pool.end();
    }
  });
});
