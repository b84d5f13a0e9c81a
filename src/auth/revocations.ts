/**
 * Revocations announced to every API process: revoking a token (src/commands/tokens.ts,
 * for the API and the CLI alike) sends NOTIFY on TOKEN_REVOKED_CHANNEL with the
 * token's id in the transaction that revokes it, so the notice goes out when, and only
 * if, the revocation commits. Each API process listens (src/main/api.ts starts this)
 * and forgets the token at once; while it does not hear the channel, its
 * Authenticator trusts no token without a lookup (./authenticate.ts).
 *
 * Integration keys (issue 12) are announced the same way on
 * INTEGRATION_KEY_REVOKED_CHANNEL (src/commands/integration-keys.ts), and heard by the
 * process's IntegrationKeys (./integration-keys.ts).
 */
import type pg from 'pg';
import { ChannelListener } from '../db/listener.ts';
import type { Logger } from '../log/logger.ts';
import type { Authenticator } from './authenticate.ts';

export const TOKEN_REVOKED_CHANNEL = 'klaxon_token_revoked';
export const INTEGRATION_KEY_REVOKED_CHANNEL = 'klaxon_integration_key_revoked';

/** What hears a channel of revocations: forgets each id announced, and knows whether it may have missed some. */
export interface RevocationHearer {
  forget(id: string): void;
  revocationsHeard(heard: boolean): void;
}

export interface RevocationListenerOptions {
  /** A new, unconnected client for each connection attempt (createClient in src/db/pool.ts). */
  connect: () => pg.Client;
  authenticator: Pick<Authenticator, 'forget' | 'revocationsHeard'>;
  logger: Logger;
}

/** Listens until closed; the authenticator forgets every token announced revoked. */
export function listenForRevocations({ connect, authenticator, logger }: RevocationListenerOptions): ChannelListener {
  return listenOn(TOKEN_REVOKED_CHANNEL, { connect, hearer: authenticator, logger });
}

export interface KeyRevocationListenerOptions {
  connect: () => pg.Client;
  /** The process's IntegrationKeys. */
  integrationKeys: RevocationHearer;
  logger: Logger;
}

/** Listens until closed; the integration keys forget every key announced revoked. */
export function listenForKeyRevocations({ connect, integrationKeys, logger }: KeyRevocationListenerOptions): ChannelListener {
  return listenOn(INTEGRATION_KEY_REVOKED_CHANNEL, { connect, hearer: integrationKeys, logger });
}

function listenOn(channel: string, { connect, hearer, logger }: { connect: () => pg.Client; hearer: RevocationHearer; logger: Logger }): ChannelListener {
  return new ChannelListener({
    connect,
    channel,
    logger,
    onNotification: (id) => hearer.forget(id),
    onLive: (live) => hearer.revocationsHeard(live),
  });
}
