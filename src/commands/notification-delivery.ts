/**
 * What an operator does about deliveries (issue 11): list a person's notifications as
 * the outbox holds them, and try a FAILED one again. Rows only move forward, so a retry
 * is a new PENDING row (key <original>:retry:<n>) that the notifiers pick up at once;
 * an escalation notification whose incident no longer escalates is still skipped.
 */
import { ConflictError, NotFoundError } from '../domain/errors.ts';
import type { ChannelKind, NotificationStatus, NotificationType } from '../domain/notifications.ts';
import { type Queryable, run, sql } from '../db/queries.ts';

export interface DeliveryRow {
  id: string;
  type: NotificationType;
  channel: ChannelKind;
  destination: string;
  status: NotificationStatus;
  reason: string | null;
  incident_id: string | null;
  level: number | null;
  attempts: number;
  due_at: Date;
  next_attempt_at: Date;
  sent_at: Date | null;
  finished_at: Date | null;
  created_at: Date;
  provider_message_id: string | null;
}

export async function listDeliveries(db: Queryable, userId: string, limit: number): Promise<DeliveryRow[]> {
  const [user] = await run<{ id: string }>(db, sql('users-existing'), [[userId]]);
  if (!user) throw new NotFoundError('user', userId);
  return run<DeliveryRow>(db, sql('notifications-delivery-of-user'), [userId, limit]);
}

/** Tries a FAILED notification again: the new row's id. */
export async function retryNotification(db: Queryable, notificationId: string, now: Date): Promise<string> {
  const [row] = await run<{ id: string }>(db, sql('notifications-retry'), [notificationId, now]);
  if (row) return row.id;
  const [existing] = await run<{ status: string }>(db, sql('notification-status'), [notificationId]);
  if (!existing) throw new NotFoundError('notification', notificationId);
  throw new ConflictError('not_failed', `notification ${notificationId} is ${existing.status}: only a FAILED one is retried`, { status: existing.status });
}
