/**
 * A person's notifications as the API lists them (issue 11, in-app): every channel's,
 * newest first, and marking an in-app one read.
 *
 * Team scoping: a person belongs to the organisation, their notifications are about
 * incidents that belong to teams. A team's caller sees (and marks) only those about
 * its team's incidents; notifications about no incident (verification codes) only an
 * organisation-wide caller sees.
 */
import { type Queryable, run, sql } from '../db/queries.ts';
import { inTransaction } from '../db/transaction.ts';
import { ConflictError, NotFoundError } from '../domain/errors.ts';
import type { ChannelKind, NotificationStatus, NotificationType } from '../domain/notifications.ts';
import type { TeamScope } from '../domain/team-scope.ts';
import { assertUserExists } from './contact-methods.ts';
import type { CommandDeps } from './deps.ts';

export interface UserNotification {
  id: string;
  type: NotificationType;
  channel: ChannelKind;
  status: NotificationStatus;
  incidentId: string | null;
  incidentTitle: string | null;
  level: number | null;
  contactMethodId: string;
  /** Why it was skipped, folded or failed. */
  reason: string | null;
  createdAt: Date;
  sentAt: Date | null;
  readAt: Date | null;
}

interface UserNotificationRow {
  id: string;
  type: NotificationType;
  channel: ChannelKind;
  status: NotificationStatus;
  incident_id: string | null;
  incident_title: string | null;
  level: number | null;
  contact_method_id: string;
  reason: string | null;
  created_at: Date;
  sent_at: Date | null;
  read_at: Date | null;
}

function toUserNotification(row: UserNotificationRow): UserNotification {
  return {
    id: row.id,
    type: row.type,
    channel: row.channel,
    status: row.status,
    incidentId: row.incident_id,
    incidentTitle: row.incident_title,
    level: row.level,
    contactMethodId: row.contact_method_id,
    reason: row.reason,
    createdAt: row.created_at,
    sentAt: row.sent_at,
    readAt: row.read_at,
  };
}

/** Where a page starts: the (created_at, id) of the previous page's last row, created_at at microsecond precision. */
export interface NotificationPageCursor {
  createdAt: string;
  id: string;
}

export interface NotificationPage {
  items: UserNotification[];
  next: NotificationPageCursor | null;
}

export async function listUserNotifications(
  db: Queryable,
  scope: TeamScope,
  userId: string,
  page: { limit: number; after?: NotificationPageCursor | undefined },
): Promise<NotificationPage> {
  await assertUserExists(db, userId);
  // One extra row tells whether there is a next page without a COUNT.
  const rows = await run<UserNotificationRow & { cursor_created_at: string }>(db, sql('notifications-of-user'), [
    userId,
    page.after?.createdAt ?? null,
    page.after?.id ?? null,
    page.limit + 1,
    scope.teamId,
  ]);
  const shown = rows.slice(0, page.limit);
  const last = shown.at(-1);
  return {
    items: shown.map(toUserNotification),
    next: rows.length > page.limit && last ? { createdAt: last.cursor_created_at, id: last.id } : null,
  };
}

/**
 * Marks an in-app notification read; again is a no-op (the first read_at stays). Only
 * in-app ones: on the other channels read_at is not the person's to set (an SMS's
 * reply code stays live while its notification is unread).
 */
export async function markNotificationRead(deps: CommandDeps, scope: TeamScope, userId: string, notificationId: string): Promise<UserNotification> {
  return inTransaction(deps.pool, async (client) => {
    await assertUserExists(client, userId);
    const [row] = await run<UserNotificationRow>(client, sql('notification-of-user'), [userId, notificationId, scope.teamId]);
    if (!row) throw new NotFoundError('notification', notificationId);
    if (row.channel !== 'in_app') {
      throw new ConflictError('not_in_app', `only in_app notifications are marked read; this one went by ${row.channel}`);
    }
    if (row.read_at !== null) return toUserNotification(row);
    const now = deps.clock.now();
    const marked = await run(client, sql('notification-mark-read'), [notificationId, now]);
    if (marked.length > 0) return toUserNotification({ ...row, read_at: now });
    // Marked read meanwhile by another request: its read_at stands.
    const [again] = await run<UserNotificationRow>(client, sql('notification-of-user'), [userId, notificationId, scope.teamId]);
    return toUserNotification(again ?? row);
  });
}
