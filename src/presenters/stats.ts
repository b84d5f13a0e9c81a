/** The answer of GET /stats and `klaxon stats --json`: Postgres's figures, and the index's (null: Redis down). */
import type { Stats } from '../commands/stats.ts';
import { Instant, Nullable, type Static, Type } from '../schema/types.ts';
import { iso } from './common.ts';

export const StatsView = Type.Object({
  at: Instant(),
  escalations: Type.Object({
    pending: Type.Integer(),
    overdue: Type.Integer({ description: 'Due and not executed' }),
    oldest_overdue_age_ms: Nullable(Type.Integer()),
    quarantined: Type.Integer({ description: 'PENDING and kept out of batches: their execution failed too often (klaxon escalation release)' }),
  }),
  notifications: Type.Object(
    {
      pending: Type.Integer({ description: 'PENDING notifications, due or not (a call 5 minutes after the page is pending until then)' }),
      due: Type.Integer({ description: 'PENDING and due: not sent yet' }),
      oldest_pending_age_ms: Nullable(Type.Integer({ description: 'How long the oldest due, unsent one has been due; null when none is' })),
      by_channel: Type.Record(
        Type.String(),
        Type.Object({
          sent: Type.Integer(),
          failed: Type.Integer(),
          skipped: Type.Integer({ description: 'Skipped (the incident moved on, throttled) or folded into a digest' }),
        }),
        { description: 'Settled notifications per channel (email, sms, voice, slack, teams, webhook, in_app)' },
      ),
    },
    { description: 'The notifications outbox (the notifiers deliver it)' },
  ),
  index: Nullable(
    Type.Object(
      {
        pending: Type.Integer(),
        in_flight: Type.Integer(),
        complete: Type.Boolean({ description: 'false after Redis lost its data, until a worker rebuilds it' }),
      },
      { description: 'The Redis index; null while Redis is down' },
    ),
  ),
});

export function presentStats({ at, escalations, notifications, index }: Stats): Static<typeof StatsView> {
  return {
    at: iso(at),
    escalations: {
      pending: escalations.pending,
      overdue: escalations.overdue,
      oldest_overdue_age_ms: escalations.oldestOverdueAgeMs,
      quarantined: escalations.quarantined,
    },
    notifications: {
      pending: notifications.pending,
      due: notifications.due,
      oldest_pending_age_ms: notifications.oldestPendingAgeMs,
      by_channel: notifications.byChannel,
    },
    index,
  };
}
