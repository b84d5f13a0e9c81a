/**
 * Acknowledge or resolve from the message (issue 11): a person acts on an incident from a
 * notification they were sent (a signed link's confirmation page, a Slack button, an SMS
 * reply, a key press during a call), as themselves, without an API token. The inbound
 * endpoints (src/api/endpoints/inbound.ts) establish who acts (the signed token, the
 * Slack member mapped to a person, the notification a code or call belongs to); this
 * applies the transition as that person, in the one transaction every transition takes.
 *
 * Idempotent by design: links are replayable until they expire, Slack and Twilio retry
 * webhooks, people press twice. Acting on an incident whose paging has already stopped
 * the way asked (acknowledging an acknowledged, resolved or cancelled one; resolving a
 * resolved or cancelled one) changes nothing and says who stopped it and when. The
 * event records the person (actor: their name; details.via: their id, the channel, the
 * notification); the API writes the audit row in the same transaction (commit hook).
 */
import { NotFoundError } from '../domain/errors.ts';
import type { ActedVia } from '../domain/events.ts';
import type { Incident, Severity } from '../domain/incident.ts';
import { IncidentState } from '../domain/incident-states.ts';
import { EVERY_TEAM } from '../domain/team-scope.ts';
import { type Queryable, run, sql } from '../db/queries.ts';
import { type IncidentRow, type NotificationMessageRow, toIncident } from '../db/rows.ts';
import type { CommandDeps } from './deps.ts';
import { actOnIncident, applyTransition } from './transition-incident.ts';

export type MessageActionName = 'acknowledge' | 'resolve';

export interface MessageActionInput {
  incidentId: string;
  /** Who acts: the person the token names, the Slack member's person, the paged number's person. */
  userId: string;
  action: MessageActionName;
  via: Omit<ActedVia, 'user_id'>;
  /**
   * Called inside the transaction once the person is known, before it commits: the API
   * builds the audit row that commits with the change from it.
   */
  onActor?: (actor: { id: string; name: string }) => void;
}

export type MessageActionOutcome =
  /** The transition was applied. */
  | { changed: true; incident: Incident; actor: { id: string; name: string } }
  /** Nothing to do: the paging had already stopped so. `by`: who stopped it (null: unknown), `kind`: how. */
  | {
      changed: false;
      incident: Incident;
      actor: { id: string; name: string };
      stoppedBy: StopFact | null;
    };

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** The states in which an action has nothing left to do. */
const ALREADY_DONE: Record<MessageActionName, readonly IncidentState[]> = {
  acknowledge: [IncidentState.ACKNOWLEDGED, IncidentState.RESOLVED, IncidentState.CANCELLED],
  resolve: [IncidentState.RESOLVED, IncidentState.CANCELLED],
};

const TARGET = { acknowledge: IncidentState.ACKNOWLEDGED, resolve: IncidentState.RESOLVED } as const;

export async function actFromMessage(deps: CommandDeps, input: MessageActionInput): Promise<MessageActionOutcome> {
  let outcome: DistributiveOmit<MessageActionOutcome, 'incident'> | undefined;
  // The person was paged for the incident: their team membership is not asked again
  // (the signed grant, the mapped Slack member or the paged number is the authority).
  const incident = await actOnIncident(deps, { incidentId: input.incidentId, scope: EVERY_TEAM }, async (client, locked, change) => {
    const [user] = await run<{ id: string; name: string }>(client, sql('users-get'), [input.userId]);
    if (!user) throw new NotFoundError('user', input.userId);
    const actor = { id: user.id, name: user.name };
    input.onActor?.(actor);
    if (nothingLeftToDo(input.action, locked.state)) {
      outcome = { changed: false, actor, stoppedBy: await lastStop(client, locked.id) };
      return;
    }
    outcome = { changed: true, actor };
    return applyTransition(
      client,
      deps,
      locked,
      { to: TARGET[input.action], actor: user.name, tokenId: null, via: { ...input.via, user_id: user.id } },
      change,
    );
  });
  if (!outcome) throw new Error('actFromMessage: the transaction ended without an outcome');
  return { ...outcome, incident };
}

// What the inbound endpoints read to establish who acts on what ------------------------------

export interface StopFact {
  kind: 'acknowledged' | 'resolved' | 'cancelled';
  /** Who stopped it (the event's actor); null: unknown. */
  by: string | null;
  at: Date;
}

/** Whether `action` has nothing left to do in `state` (the rule actFromMessage applies). */
export function nothingLeftToDo(action: MessageActionName, state: IncidentState): boolean {
  return ALREADY_DONE[action].includes(state);
}

async function lastStop(db: Queryable, incidentId: string): Promise<StopFact | null> {
  const [row] = await run<{ kind: StopFact['kind']; actor: string | null; occurred_at: Date }>(db, sql('incident-events-last-stop'), [incidentId]);
  return row ? { kind: row.kind, by: row.actor, at: row.occurred_at } : null;
}

/**
 * What an action link's confirmation page shows, read without changing anything: the
 * incident, the person's name, and who already stopped the paging when there is nothing
 * left to do. Null when the incident or the person no longer exists.
 */
export async function actionPreview(
  deps: CommandDeps,
  input: { incidentId: string; userId: string; action: MessageActionName },
): Promise<{ incident: Incident; userName: string; stoppedBy: StopFact | null; nothingToDo: boolean } | null> {
  const [row] = await run<IncidentRow>(deps.pool, sql('incident-get'), [input.incidentId]);
  const [user] = await run<{ name: string }>(deps.pool, sql('users-get'), [input.userId]);
  if (!row || !user) return null;
  const incident = toIncident(row);
  const nothingToDo = nothingLeftToDo(input.action, incident.state);
  return { incident, userName: user.name, nothingToDo, stoppedBy: nothingToDo ? await lastStop(deps.pool, incident.id) : null };
}

/** The person a Slack member id belongs to (their enabled slack contact method); null: nobody. */
export async function slackMember(deps: CommandDeps, memberId: string): Promise<{ userId: string; name: string } | null> {
  const [row] = await run<{ user_id: string; name: string }>(deps.pool, sql('contact-methods-slack-member'), [memberId]);
  return row ? { userId: row.user_id, name: row.name } : null;
}

/** The SMS notification a reply's code names, sent to the number the reply comes from; null: none. */
export async function smsReplyTarget(
  deps: CommandDeps,
  code: string,
  from: string,
): Promise<{ notificationId: string; incidentId: string; userId: string } | null> {
  const [row] = await run<{ id: string; incident_id: string; user_id: string }>(deps.pool, sql('notification-by-reply-code'), [code, from]);
  return row ? { notificationId: row.id, incidentId: row.incident_id, userId: row.user_id } : null;
}

/** A voice notification's row as its call needs it: what its message needs, and the call's SID. */
export interface CallRow extends NotificationMessageRow {
  provider_message_id: string | null;
}

export interface CallFacts {
  row: CallRow;
  /** Who stopped the paging, when the call is about an incident that no longer escalates. */
  stoppedBy: StopFact | null;
  /** A digest's incidents (the notifier's query), for a digest read out. */
  digest: { total: number; incidents: { id: string; title: string; severity: Severity; state: IncidentState; service_name: string | null }[] } | null;
}

/** A voice notification with the incident as it is now (null: no such voice notification). */
export async function callFacts(deps: CommandDeps, notificationId: string, digestNamed: number): Promise<CallFacts | null> {
  const [row] = await run<CallRow>(deps.pool, sql('notification-for-call'), [notificationId]);
  if (!row) return null;
  const stoppedBy = row.incident_id !== null && row.incident_state !== IncidentState.ESCALATING ? await lastStop(deps.pool, row.incident_id) : null;
  const [digest = null] =
    row.type === 'digest' ? await run<NonNullable<CallFacts['digest']>>(deps.pool, sql('notifications-digest-items'), [row.id, digestNamed]) : [];
  return { row, stoppedBy, digest };
}

/** The name of an incident's service (for the words of a message); null: none. */
export async function serviceName(deps: CommandDeps, serviceId: string | null): Promise<string | null> {
  if (serviceId === null) return null;
  const [row] = await run<{ name: string }>(deps.pool, sql('service-get'), [serviceId]);
  return row?.name ?? null;
}

/**
 * Records a delivery receipt (a provider's status callback) against its notification
 * (by id, else by the provider's message id), and the first time it reached the person.
 * Returns the notification it was matched to (null: none; the receipt is kept anyway).
 */
export async function recordDeliveryReceipt(
  deps: CommandDeps,
  receipt: { notificationId: string | null; providerMessageId: string; status: string; reached: boolean; details: Record<string, unknown> },
): Promise<string | null> {
  const [row] = await run<{ notification_id: string | null }>(deps.pool, sql('notification-receipt-record'), [
    receipt.notificationId,
    receipt.providerMessageId,
    receipt.status.slice(0, 64),
    JSON.stringify(receipt.details),
    deps.clock.now(),
    receipt.reached,
  ]);
  return row?.notification_id ?? null;
}
