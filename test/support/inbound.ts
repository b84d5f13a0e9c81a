/**
 * For the inbound notification endpoints' tests (test/api/inbound-*.test.ts): the app
 * again, on a port of its own, with notification settings whose PUBLIC_URL is that very
 * server (Twilio signs the URL it calls); people with contact methods; notifications.
 */
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp, createHttpServer } from '../../src/api/app.ts';
import { NO_NOTIFY_SETTINGS, type NotifySettings } from '../../src/api/deps.ts';
import type { ChannelKind } from '../../src/domain/notifications.ts';
import { KEEP_ALIVE_TIMEOUT_MS, type TestContext } from './context.ts';
import { type Api, apiClient } from './http.ts';
import { track } from './leaks.ts';

/** Two link secrets: the current one signs, the previous one still verifies. */
export const CURRENT_SECRET = 'current-link-secret-0123456789abcdef0123456789';
export const PREVIOUS_SECRET = 'previous-link-secret-0123456789abcdef012345678';

export interface InboundServer {
  url: string;
  /** Without a token: these endpoints are public. */
  api: Api;
  settings: NotifySettings;
  close(): Promise<void>;
}

/** The app of `t` with notification settings made from its own URL (PUBLIC_URL = that URL). */
export async function startInbound(t: TestContext, settings: (publicUrl: string) => Partial<NotifySettings>): Promise<InboundServer> {
  let current: NotifySettings = NO_NOTIFY_SETTINGS;
  const deps = { ...t.deps };
  Object.defineProperty(deps, 'notify', { get: () => current, enumerable: true });
  const server: Server = createHttpServer(createApp(deps), KEEP_ALIVE_TIMEOUT_MS);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  current = { ...NO_NOTIFY_SETTINGS, publicUrl: url, ...settings(url) };
  const untrack = track(`inbound server ${url}`);
  return {
    url,
    api: apiClient(url, null),
    get settings() {
      return current;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      untrack();
    },
  };
}

/** A verified, enabled contact method of `userId`. */
export async function addContactMethod(t: TestContext, userId: string, kind: ChannelKind, address: string): Promise<string> {
  const { rows } = await t.pool.query<{ id: string }>(
    `INSERT INTO contact_methods (user_id, kind, address, position, verified_at) VALUES ($1, $2, $3, 10, now()) RETURNING id`,
    [userId, kind, address],
  );
  return String(rows[0]?.id);
}

/** An escalation notification, as the engine would have written it (already sent). */
export async function addNotification(
  t: TestContext,
  n: { incidentId: string; userId: string; contactMethodId: string; channel: ChannelKind; destination: string; replyCode?: string; providerMessageId?: string },
): Promise<string> {
  const { rows } = await t.pool.query<{ id: string }>(
    `INSERT INTO notifications (idempotency_key, type, incident_id, user_id, contact_method_id, channel, destination, status,
                                due_at, next_attempt_at, reply_code, provider_message_id, sent_at, finished_at, level)
     VALUES ($1, 'escalation', $2, $3, $4, $5, $6, 'SENT', now(), now(), $7, $8, now(), now(), 1) RETURNING id`,
    [
      `test:${Math.random().toString(36).slice(2)}`,
      n.incidentId,
      n.userId,
      n.contactMethodId,
      n.channel,
      n.destination,
      n.replyCode ?? null,
      n.providerMessageId ?? null,
    ],
  );
  return String(rows[0]?.id);
}

/** The incident's state, straight from the table. */
export async function stateOf(t: TestContext, incidentId: string): Promise<string> {
  const { rows } = await t.pool.query<{ state: string }>('SELECT state FROM incidents WHERE id = $1', [incidentId]);
  return String(rows[0]?.state);
}

export interface EventLine {
  kind: string;
  actor: string | null;
  details: Record<string, unknown>;
  token_id: string | null;
}

export async function eventsOf(t: TestContext, incidentId: string, kind: string): Promise<EventLine[]> {
  const { rows } = await t.pool.query<EventLine>(
    'SELECT kind, actor, details, token_id FROM incident_events WHERE incident_id = $1 AND kind = $2 ORDER BY id',
    [incidentId, kind],
  );
  return rows;
}

export interface AuditLine {
  token_id: string | null;
  actor: string;
  method: string;
  route: string | null;
  path: string;
  status: number;
}

/** Rows of the audit log written without a token (people acting from a message). */
export async function tokenlessAuditRows(t: TestContext): Promise<AuditLine[]> {
  const { rows } = await t.pool.query<AuditLine>('SELECT token_id, actor, method, route, path, status FROM audit_log WHERE token_id IS NULL ORDER BY id');
  return rows;
}
