/**
 * What operators and their tools call: the health probes (no token), the escalation
 * figures and Prometheus metrics (the `metrics` scope), and the API's own description
 * (any token).
 */
import { readStats } from '../../commands/stats.ts';
import { StatsView, presentStats } from '../../presenters/stats.ts';
import { StringEnum, Type } from '../../schema/types.ts';
import { type Endpoint, endpoint } from '../endpoint.ts';
import { HttpProblem } from '../problem.ts';

const Check = () => StringEnum(['up', 'down']);

export const operationsEndpoints: readonly Endpoint[] = [
  endpoint({
    method: 'GET',
    path: '/healthz',
    tag: 'health',
    summary: 'Liveness (no I/O, so a slow database never gets a healthy process killed)',
    scope: 'public',
    liveness: true,
    touchesDatabase: false,
    response: { status: 200, schema: Type.Object({ status: Type.Literal('ok') }) },
    handler: () => ({ status: 'ok' as const }),
  }),
  endpoint({
    method: 'GET',
    path: '/readyz',
    tag: 'health',
    summary: 'Readiness: Postgres and Redis answer (503 not_ready names what is down); checked at most once a second',
    scope: 'public',
    response: { status: 200, schema: Type.Object({ status: Type.Literal('ready'), checks: Type.Object({ postgres: Check(), redis: Check() }) }) },
    problems: [503],
    handler: async (_request, deps) => {
      const checks = await deps.readiness.check();
      const down = Object.entries(checks)
        .filter(([, state]) => state === 'down')
        .map(([name]) => name);
      if (down.length > 0) {
        throw new HttpProblem(503, 'not_ready', 'Not ready', `${down.join(' and ')} ${down.length > 1 ? 'are' : 'is'} down`, { checks, down });
      }
      return { status: 'ready' as const, checks };
    },
  }),
  endpoint({
    method: 'GET',
    path: '/stats',
    tag: 'health',
    summary: 'Pending and overdue escalations, and the Redis index (null while Redis is down)',
    scope: 'metrics',
    response: { status: 200, schema: StatsView },
    handler: async (_request, deps) => {
      // Redis down: index null (/readyz says so); the Postgres figures still stand.
      return presentStats(await readStats(deps));
    },
  }),
  endpoint({
    method: 'GET',
    path: '/metrics',
    tag: 'health',
    summary: 'Prometheus metrics (text exposition format); answers without the escalation gauges when Postgres is down',
    scope: 'metrics',
    touchesDatabase: false,
    response: { status: 200, schema: Type.String(), mediaType: 'text/plain; version=0.0.4; charset=utf-8' },
    handler: (_request, deps) => deps.metrics.registry.metrics(),
  }),
];
