/** People, policies and notifiers for the outbox and notifier tests (test/notify/outbox*.test.ts). */
import { expect } from 'chai';
import type { Clock } from '../../src/clock/clock.ts';
import type { ChannelKind } from '../../src/domain/notifications.ts';
import type { Channel, DeliveryOutcome } from '../../src/notify/channels/channel.ts';
import type { ChannelSet } from '../../src/notify/channel-set.ts';
import { Notifier, type NotifierDeps, type NotifierOptions } from '../../src/notify/notifier.ts';
import type { TestContext } from '../support/context.ts';
import { createPolicyVia, createServiceRow } from '../support/factories.ts';

export const MIN = 60_000;
export const LINK_SECRET = 'a-test-link-secret-of-at-least-32-characters';

export const TEST_NOTIFIER_OPTIONS: NotifierOptions = {
  batchSize: 100,
  concurrency: 4,
  leaseMs: 60_000,
  maxSleepMs: 1_000,
  throttleWindowMs: MIN,
  destinationPerMinute: 10,
  providerPerSecond: 10_000,
};

export function notifierFor(
  t: TestContext,
  channels: ChannelSet,
  overrides: Omit<Partial<NotifierDeps>, 'options'> & { options?: Partial<NotifierOptions> } = {},
): Notifier {
  const { options, ...rest } = overrides;
  return new Notifier({
    pool: t.pool,
    clock: t.clock,
    logger: t.deps.logger,
    channels,
    links: { publicUrl: 'https://klaxon.test', linkKeys: [LINK_SECRET], linkTtlMs: 24 * 60 * MIN },
    options: { ...TEST_NOTIFIER_OPTIONS, ...options },
    random: () => 0.5,
    ...rest,
  });
}

export interface ScriptedChannel<K extends ChannelKind> extends Channel<K> {
  sent: { destination: string; key: string; message: unknown }[];
  /** Outcomes for the next sends, in order; then `sent`. */
  script(...outcomes: DeliveryOutcome[]): void;
}

/** A channel that records what it is given and answers as scripted (default: sent). */
export function scriptedChannel<K extends ChannelKind>(kind: K, clock?: Clock): ScriptedChannel<K> {
  const queue: DeliveryOutcome[] = [];
  const sent: ScriptedChannel<K>['sent'] = [];
  void clock;
  return {
    kind,
    sent,
    script: (...outcomes) => queue.push(...outcomes),
    send: (delivery) => {
      sent.push({ destination: delivery.destination, key: delivery.idempotencyKey, message: delivery.message });
      return Promise.resolve(queue.shift() ?? { status: 'sent', providerMessageId: `${kind}-${sent.length}` });
    },
  };
}

/** A contact method written as the API would leave it (sms/voice verified unless told otherwise). */
export async function addMethod(
  t: TestContext,
  userId: string,
  kind: ChannelKind,
  address: string,
  position: number,
  { verified = true, disabled = false }: { verified?: boolean; disabled?: boolean } = {},
): Promise<string> {
  const now = t.clock.now();
  const { rows } = await t.pool.query<{ id: string }>(
    `INSERT INTO contact_methods (user_id, kind, address, position, verified_at, disabled_at, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id`,
    [userId, kind, address, position, verified ? now : null, disabled ? now : null, now],
  );
  return String(rows[0]?.id);
}

export async function methodsOf(t: TestContext, userId: string): Promise<Record<string, string>> {
  const { rows } = await t.pool.query<{ id: string; kind: string }>(`SELECT id, kind FROM contact_methods WHERE user_id = $1 AND disabled_at IS NULL`, [
    userId,
  ]);
  return Object.fromEntries(rows.map((row) => [row.kind, row.id]));
}

export async function addRule(t: TestContext, userId: string, methodId: string, delayMs: number): Promise<string> {
  const { rows } = await t.pool.query<{ id: string }>(
    `INSERT INTO notification_rules (user_id, contact_method_id, delay_ms) VALUES ($1, $2, $3) RETURNING id`,
    [userId, methodId, delayMs],
  );
  return String(rows[0]?.id);
}

export async function disableMethod(t: TestContext, methodId: string): Promise<void> {
  await t.pool.query(`UPDATE contact_methods SET disabled_at = $2 WHERE id = $1`, [methodId, t.clock.now()]);
}

export interface Level {
  delay: string;
  users: string[];
  channels?: ChannelKind[];
}

/** A service on a policy with these levels (channels set on the level rows); returns the service id. */
export async function serviceWith(t: TestContext, levels: Level[]): Promise<string> {
  const policyId = await createPolicyVia(t.api, {
    name: `policy ${Math.random()}`,
    levels: levels.map((level) => ({ delay: level.delay, targets: level.users.map((id) => ({ type: 'user', id })) })),
  });
  for (const [index, level] of levels.entries()) {
    if (level.channels) {
      await t.ownerPool.query(`UPDATE escalation_policy_levels SET channels = $3 WHERE policy_id = $1 AND level = $2`, [policyId, index + 1, level.channels]);
    }
  }
  return createServiceRow(t.pool, `service ${Math.random()}`, policyId);
}

export async function openIncident(t: TestContext, serviceId: string, title = 'payments failing'): Promise<string> {
  const res = await t.api.post('/incidents', { title, service_id: serviceId, escalate: true });
  expect(res.status, res.text).to.equal(201);
  return String(res.body.id);
}

export interface OutboxRow {
  id: string;
  idempotency_key: string;
  type: string;
  user_id: string;
  contact_method_id: string;
  rule_id: string | null;
  channel: string;
  destination: string;
  status: string;
  reason: string | null;
  level: number | null;
  due_at: Date;
  next_attempt_at: Date;
  attempts: number;
  claim: number;
  reply_code: string | null;
  digest_id: string | null;
  payload: Record<string, unknown>;
}

export async function outbox(t: TestContext, where = 'true', values: unknown[] = []): Promise<OutboxRow[]> {
  const { rows } = await t.pool.query<OutboxRow>(`SELECT * FROM notifications WHERE ${where} ORDER BY created_at, channel, idempotency_key`, values);
  return rows;
}

export async function attemptsOf(t: TestContext, notificationId: string): Promise<Record<string, unknown>[]> {
  const { rows } = await t.pool.query<Record<string, unknown>>(`SELECT * FROM notification_attempts WHERE notification_id = $1 ORDER BY attempt`, [
    notificationId,
  ]);
  return rows;
}
