/**
 * Alert intake (issue 12): the monitoring people already run, pointed at klaxon.
 *
 * - `POST /v2/enqueue`: the Events API v2 (PagerDuty's), the routing key in the body. It
 *   answers as that API does, so its client libraries work unchanged: 202
 *   `{status, message, dedup_key}`, 400 `{status, message, errors}` (each error naming
 *   the field and the rule), 429 when the key is over its rate.
 * - `POST /integrations/alertmanager/:key`: Alertmanager's webhook (payload version 4).
 * - `POST /integrations/grafana/:key`: Grafana alerting's webhook, its HMAC signature
 *   checked when the key has a signing secret.
 *
 * The key is the credential: no API token. A request with a live key takes from that
 * key's own budget (its rate, or INTAKE_RATE_PER_MINUTE / INTAKE_RATE_BURST); one with
 * a malformed, unknown or revoked key takes from its address's, like any request
 * without a valid credential. A webhook answers 2xx only once every alert of it is
 * stored, and 503 on a transient failure (Alertmanager retries 5xx, never 4xx; the
 * alerts already stored count a re-send as a repeat). Each event received with a live
 * key leaves an alert-log line, and each request an audit row that names the key.
 */
import type Koa from 'koa';
import type { ResolvedIntegrationKey } from '../../auth/integration-keys.ts';
import { takeIntakeBudget } from '../../commands/integration-keys.ts';
import { type IntakeRequest, type IntakeResult, ingestAlert, keyActor, listIncidentAlerts, recordInvalidAlert } from '../../commands/intake.ts';
import { type CommitHook, withCommitHook } from '../../db/transaction.ts';
import { parseAlertmanager } from '../../domain/alerts/alertmanager.ts';
import { type AlertSource, MAX_EVENT_BYTES, type ParsedAlerts } from '../../domain/alerts/event.ts';
import { parseEventsV2 } from '../../domain/alerts/events-v2.ts';
import { GRAFANA_SIGNATURE_HEADER, GRAFANA_TIMESTAMP_HEADER, checkGrafanaSignature, parseGrafana } from '../../domain/alerts/grafana.ts';
import { INTEGRATION_KEY_ALPHABET, INTEGRATION_KEY_PREFIX, INTEGRATION_KEY_RANDOM_LENGTH } from '../../domain/integration-keys.ts';
import { AlertLogPage, presentAlertLine } from '../../presenters/alerts.ts';
import { Type } from '../../schema/types.ts';
import type { AppDeps } from '../deps.ts';
import { type Endpoint, endpoint } from '../endpoint.ts';
import { HttpProblem, ProtocolProblem, validationProblem } from '../problem.ts';
import { rateLimitHeaders, rateLimitedProblem, takeOrRefuse } from '../rate-limit.ts';
import { readJsonPayload } from '../request.ts';

const TAG = 'alerts';

/**
 * A webhook group may carry many alerts (Alertmanager sends a whole group, up to its
 * receiver's max_alerts): four Events API bodies' worth.
 */
const WEBHOOK_BODY_LIMIT = 4 * MAX_EVENT_BYTES;

const EnqueueAnswer = Type.Object(
  {
    status: Type.Literal('success'),
    message: Type.String(),
    dedup_key: Type.String({ description: 'The key the event was deduplicated by: the one sent, or the one made for a trigger that sent none' }),
  },
  { additionalProperties: false, title: 'EventsV2Answer' },
);

const WebhookAnswer = Type.Object(
  {
    alerts: Type.Array(
      Type.Object(
        {
          dedup_key: Type.String(),
          action: Type.String(),
          outcome: Type.String(),
          incident_id: Type.Union([Type.String(), Type.Null()]),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false, title: 'WebhookAnswer' },
);

const KeyParam = Type.String({
  pattern: `^${INTEGRATION_KEY_PREFIX}[${INTEGRATION_KEY_ALPHABET}]{${INTEGRATION_KEY_RANDOM_LENGTH}}$`,
  description: 'The integration key (routing key) of the service',
});

const AlertsQuery = Type.Object(
  {
    after: Type.Optional(Type.String({ pattern: '^[0-9]{1,18}$', description: 'Only lines after this alert-log id (next_after of the previous page)' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, description: 'Lines per page (default 100)' })),
  },
  { additionalProperties: false },
);

/** The Events API's words for a refused event. */
const INVALID_EVENT = { status: 'invalid event', message: 'Event object is invalid' } as const;

export const intakeEndpoints: Endpoint[] = [
  endpoint({
    method: 'POST',
    path: '/v2/enqueue',
    tag: TAG,
    summary:
      'An Events API v2 event (trigger, acknowledge, resolve) for the service of its routing_key; answers as that API does ({status, message, errors} on 400, not problem+json)',
    scope: 'public',
    ownRateLimit: true,
    problems: [400, 413, 415, 429, 503],
    response: { status: 202, schema: EnqueueAnswer },
    handler: async ({ ctx }, deps) => {
      const body = await readIntakeBody(ctx, MAX_EVENT_BYTES, true);
      const parsed = parseEventsV2(body.body);
      const key = await admitKey(ctx, deps, parsed.routingKey, true);
      return keyAudited(ctx, deps, key, 'events_v2', 202, async (request, endingWith) => {
        if (!parsed.ok) {
          endingWith(400);
          await recordInvalidAlert(deps, request, withoutRoutingKey(body.body), parsed.issues);
          throw new ProtocolProblem(400, 'invalid_event', parsed.errors.join('; '), { ...INVALID_EVENT, errors: parsed.errors });
        }
        const result = await ingestAlert(deps, request, parsed.event);
        return { status: 'success' as const, message: 'Event processed', dedup_key: result.dedupKey ?? '' };
      });
    },
  }),
  webhook(
    'alertmanager',
    '/integrations/alertmanager/:key',
    "Prometheus Alertmanager's webhook (payload version 4): one incident per alert fingerprint",
    parseAlertmanager,
  ),
  webhook(
    'grafana',
    '/integrations/grafana/:key',
    "Grafana alerting's webhook: one incident per alert fingerprint; HMAC-signed when the key has a signing secret",
    parseGrafana,
  ),
  endpoint({
    method: 'GET',
    path: '/incidents/:id/alerts',
    tag: 'incidents',
    summary: 'Every alert that touched an incident (its alert-log lines: the payload, what it was read as, the outcome), oldest first',
    scope: 'read',
    query: AlertsQuery,
    response: { status: 200, schema: AlertLogPage },
    handler: async ({ params, query, principal }, deps) => {
      const page = await listIncidentAlerts(deps.pool, principal, params.id, { after: query.after ?? '0', limit: query.limit ?? 100 });
      return { incident_id: params.id, items: page.items.map(presentAlertLine), next_after: page.nextAfter };
    },
  }),
];

function webhook(
  source: Exclude<AlertSource, 'events_v2'>,
  path: '/integrations/alertmanager/:key' | '/integrations/grafana/:key',
  summary: string,
  parse: (body: unknown) => ParsedAlerts,
): Endpoint {
  return endpoint({
    method: 'POST',
    path,
    tag: TAG,
    summary,
    scope: 'public',
    ownRateLimit: true,
    pathParams: { key: KeyParam },
    problems: [401, 404, 413, 415, 429, 503],
    response: { status: 200, schema: WebhookAnswer },
    handler: async ({ params, ctx }, deps) => {
      // Only the key as written: a percent-encoded one would pass the router (it decodes)
      // and reach the logs in a form the redaction does not recognise.
      const key = await admitKey(ctx, deps, ctx.path.endsWith(`/${params.key}`) ? params.key : null, false);
      const body = await readIntakeBody(ctx, WEBHOOK_BODY_LIMIT, false);
      if (source === 'grafana' && key.signingSecret !== null) {
        const check = checkGrafanaSignature({
          secret: key.signingSecret,
          body: body.bytes,
          signature: ctx.get(GRAFANA_SIGNATURE_HEADER) || null,
          timestamp: ctx.get(GRAFANA_TIMESTAMP_HEADER) || null,
          now: deps.clock.now(),
        });
        if (!check.ok) throw new HttpProblem(401, 'invalid_signature', 'Unauthorized', check.message);
      }
      return keyAudited(ctx, deps, key, source, 200, async (request, endingWith) => {
        const parsed = parse(body.body);
        if (!parsed.ok) {
          endingWith(400);
          await recordInvalidAlert(deps, request, body.body, parsed.errors);
          throw validationProblem('body', parsed.errors);
        }
        // In order, each alert stored before the next (a group's alerts are few; a failure
        // part-way answers 503 and the re-send counts the stored ones as repeats).
        const results: IntakeResult[] = [];
        for (const event of parsed.events) results.push(await ingestAlert(deps, request, event));
        return {
          alerts: results.map((result, index) => ({
            dedup_key: result.dedupKey ?? '',
            action: parsed.events[index]?.action ?? 'trigger',
            outcome: result.outcome,
            incident_id: result.incidentId,
          })),
        };
      });
    },
  });
}

/** The body, up to the limit; for the Events API a malformed one is answered in that API's words. */
async function readIntakeBody(ctx: Koa.Context, limitBytes: number, eventsApi: boolean): Promise<{ bytes: Buffer; body: unknown }> {
  try {
    const payload = await readJsonPayload(ctx, limitBytes);
    if (payload === undefined) throw validationProblem('body', [{ field: '(body)', rule: 'required', message: 'a JSON object is required' }]);
    return payload;
  } catch (error) {
    if (eventsApi && error instanceof HttpProblem && error.status === 400) {
      throw new ProtocolProblem(400, 'invalid_event', error.message, { ...INVALID_EVENT, errors: [error.message] });
    }
    throw error;
  }
}

/**
 * The live key the request names, within its budget. A malformed, unknown or revoked
 * one costs the address's budget (each is a lookup) and is refused: 400 in the Events
 * API's words, 404 for a webhook (Alertmanager does not retry a 4xx).
 */
async function admitKey(ctx: Koa.Context, deps: AppDeps, sent: string | null, eventsApi: boolean): Promise<ResolvedIntegrationKey> {
  const key = sent === null ? null : await deps.integrationKeys.resolve(sent);
  if (!key) {
    await takeOrRefuse(ctx, deps.addressRateLimiter, `address:${ctx.ip}`, 'this address without a live integration key');
    const words = 'routing_key: no live integration key has this value (unknown, revoked or malformed)';
    if (eventsApi && sent !== null) throw new ProtocolProblem(400, 'invalid_event', words, { ...INVALID_EVENT, errors: [words] });
    if (eventsApi)
      throw new ProtocolProblem(400, 'invalid_event', "'routing_key' is missing", { ...INVALID_EVENT, errors: ["'routing_key' is missing or blank"] });
    throw new HttpProblem(404, 'integration_key_not_found', 'Not found', 'no live integration key has this value (unknown or revoked)');
  }
  const decision = await takeIntakeBudget(deps, key);
  ctx.set(rateLimitHeaders(decision));
  if (!decision.allowed) {
    const policy = { ratePerMinute: key.ratePerMinute, burst: key.rateBurst };
    throw rateLimitedProblem(deps.intakeRateLimiter, decision, `integration key ${key.hint}`, policy);
  }
  return key;
}

/**
 * Runs the intake with the request's audit row attached to its first commit: the row
 * names the key (its hint and name, never the key) and its service's team, with the
 * status the request ends with (`endingWith` says it before a refused event's line
 * commits, with its 400 row).
 */
async function keyAudited<T>(
  ctx: Koa.Context,
  deps: AppDeps,
  key: ResolvedIntegrationKey,
  source: AlertSource,
  status: number,
  work: (request: IntakeRequest, endingWith: (status: number) => void) => Promise<T>,
): Promise<T> {
  let ending = status;
  const hook: CommitHook = {
    committed: false,
    rows: () => [deps.audit.rowFor(ctx, { tokenId: null, actor: keyActor(key), teamId: key.teamId }, ending)],
  };
  const requestId = (ctx.state.requestId as string | undefined) ?? null;
  const request: IntakeRequest = { key, source, requestId, stormPerMinute: deps.intakeStormPerMinute, services: deps.intakeServices };
  return withCommitHook(hook, () =>
    work(request, (refused) => {
      ending = refused;
    }),
  );
}

/** The Events API body as logged: without its routing key (a secret). */
function withoutRoutingKey(body: unknown): unknown {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return body;
  return Object.fromEntries(Object.entries(body).filter(([name]) => name !== 'routing_key'));
}
