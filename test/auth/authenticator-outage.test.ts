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
