/**
 * Gauges read from Postgres when Prometheus scrapes: one query per scrape, shared by
 * every gauge of the set (their collect() callbacks run together), bounded by a
 * deadline. Postgres down or slow: no sample rather than a reassuring zero. The
 * escalation gauges and the outbox gauges are each one such set.
 */
import { Gauge, type Registry } from 'prom-client';
import { withDeadline } from '../clock/deadline.ts';

const STATS_TIMEOUT_MS = 2_000;

export type StatsGauge<S> = [name: string, help: string, value: (stats: S) => number];

export function registerStatsGauges<S>(registry: Registry, readStats: () => Promise<S>, gauges: StatsGauge<S>[]): void {
  let reading: Promise<S | null> | undefined;
  const read = () =>
    (reading ??= withDeadline(readStats(), STATS_TIMEOUT_MS)
      .catch(() => null)
      .finally(() => {
        reading = undefined;
      }));
  for (const [name, help, value] of gauges) {
    const metric: Gauge = new Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        const stats = await read();
        if (stats === null) metric.remove({});
        else metric.set(value(stats));
      },
    });
  }
}
