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
  index: Nullable(
    Type.Object(
      { pending: Type.Integer(), in_flight: Type.Integer(), complete: Type.Boolean({ description: 'false after Redis lost its data, until a worker rebuilds it' }) },
      { description: 'The Redis index; null while Redis is down' },
    ),
  ),
});

export function presentStats({ at, escalations, index }: Stats): Static<typeof StatsView> {
  return {
    at: iso(at),
    escalations: {
      pending: escalations.pending,
      overdue: escalations.overdue,
      oldest_overdue_age_ms: escalations.oldestOverdueAgeMs,
      quarantined: escalations.quarantined,
    },
    index,
  };
}
