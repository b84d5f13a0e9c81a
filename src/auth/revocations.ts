/**
 * Revocations announced to every API process: revoking a token (src/commands/tokens.ts,
 * for the API and the CLI alike) sends NOTIFY on TOKEN_REVOKED_CHANNEL with the
 * token's id in the transaction that revokes it, so the notice goes out when, and only
 * if, the revocation commits. Each API process listens (src/main/api.ts starts this)
 * and forgets the token at once; while it does not hear the channel, its
 * Authenticator trusts no token without a lookup (./authenticate.ts).
 */
import type pg from 'pg';
import { ChannelListener } from '../db/listener.ts';
import type { Logger } from '../log/logger.ts';
import type { Authenticator } from './authenticate.ts';

export const TOKEN_REVOKED_CHANNEL = 'klaxon_token_revoked';

export interface RevocationListenerOptions {
  /** A new, unconnected client for each connection attempt (createClient in src/db/pool.ts). */
  connect: () => pg.Client;
  authenticator: Pick<Authenticator, 'forget' | 'revocationsHeard'>;
  logger: Logger;
}

/** Listens until closed; the authenticator forgets every token announced revoked. */
export function listenForRevocations({ connect, authenticator, logger }: RevocationListenerOptions): ChannelListener {
  return new ChannelListener({
    connect,
    channel: TOKEN_REVOKED_CHANNEL,
    logger,
    onNotification: (tokenId) => authenticator.forget(tokenId),
    onLive: (live) => authenticator.revocationsHeard(live),
  });
}
