/**
 * The OpenAPI 3.1 document of the API, served at GET /openapi.json (rendered at
 * GET /docs), made from the endpoint declarations alone: the paths and methods the
 * router serves, the access each one needs, and the very schema objects requests are
 * validated with and answers are presented by (OpenAPI 3.1's dialect is JSON Schema
 * 2020-12, which TypeBox writes). Nothing here is written twice, so the document
 * cannot drift from what the API does.
 *
 * Schemas with a `title` become named components (`#/components/schemas/Incident`),
 * wherever they appear.
 */
import packageJson from '../../package.json' with { type: 'json' };
import { Type } from '../schema/types.ts';
import { type Endpoint, pathParameterNames, requiredScope } from './endpoint.ts';

type Json = Record<string, unknown>;

/** RFC 9457, as docs/errors.md describes it; some codes add members of their own. */
const ProblemView = Type.Object(
  {
    type: Type.String({ examples: ['urn:klaxon:problem:validation_failed'] }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String({ description: 'Stable: match on this (see docs/errors.md)' }),
    instance: Type.String({ description: 'The request path' }),
    request_id: Type.String({ description: "The server's id of the request: the X-Request-Id response header, and the logs' request_id" }),
    errors: Type.Optional(Type.Array(Type.Object({ field: Type.String(), rule: Type.String(), message: Type.String() }))),
  },
  { additionalProperties: true, title: 'Problem' },
);

const PROBLEMS: Record<number, string> = {
  400: 'validation_failed (errors names each field and rule: in the path, the query, the body or a header), invalid_json or invalid_body',
  401: 'unauthenticated (no token) or invalid_token (unknown, malformed, revoked or expired); WWW-Authenticate says which',
  403: 'insufficient_scope: the token lacks the scope or the team rule the operation needs (required_scope); bad_signature: a provider callback (Slack, Twilio) whose signature does not verify',
  404: 'not_found: no record with that id (or it belongs to another team)',
  409: 'A conflict: invalid_transition, version_conflict, level_conflict, escalation_exhausted, invalid_state, level_already_paged, already_exists or in_use',
  410: 'link_expired: a signed action link past its expiry',
  413: 'payload_too_large',
  414: 'uri_too_long: the path and query string are over 2,048 bytes',
  415: 'unsupported_media_type: send uncompressed UTF-8 application/json (application/x-www-form-urlencoded to the Slack and Twilio callbacks)',
  422: "reference_not_found: the body names a record that does not exist (or another team's); team_not_allowed",
  429: 'rate_limited: too many requests for this token, or from this address without a valid token; Retry-After says when to retry',
  431: 'too_many_headers',
  500: 'internal_error: the details are in the log line with the same request_id',
  503: 'database_unavailable (Retry-After: 5), overloaded (too many requests at once, or every database connection busy; Retry-After: 1), or not_ready from /readyz',
};

/** `/incidents/:id` -> `/incidents/{id}`. */
export function openApiPath(routerPath: string): string {
  return routerPath.replace(/:(\w+)/g, '{$1}');
}

/** Collects titled schemas into components and refers to them by $ref. */
class Components {
  readonly schemas: Record<string, Json> = {};
  private readonly texts = new Map<string, string>();

  /** The schema as the document holds it: enumerable keys only, titled parts by $ref. */
  use(schema: unknown): unknown {
    if (Array.isArray(schema)) return schema.map((item) => this.use(item));
    if (typeof schema !== 'object' || schema === null) return schema;
    const plain: Json = {};
    for (const [key, value] of Object.entries(schema)) plain[key] = this.use(value);
    const title = plain.title;
    if (typeof title !== 'string') return plain;
    const text = JSON.stringify(plain);
    const known = this.texts.get(title);
    if (known !== undefined && known !== text) throw new Error(`two different schemas are titled ${title}`);
    this.texts.set(title, text);
    this.schemas[title] = plain;
    return { $ref: `#/components/schemas/${title}` };
  }
}

function parameters(endpoint: Endpoint, components: Components): Json[] {
  const inPath = pathParameterNames(endpoint.path).map((name) => ({
    name,
    in: 'path',
    required: true,
    schema: components.use((endpoint.params as { properties: Json }).properties[name]),
  }));
  const query = endpoint.query as { properties?: Json; required?: string[] };
  const required = new Set(query.required ?? []);
  const inQuery = Object.entries(query.properties ?? {}).map(([name, schema]) => ({
    name,
    in: 'query',
    required: required.has(name),
    schema: components.use(schema),
  }));
  return [...inPath, ...inQuery];
}

/** Which problems an operation may answer, from what its declaration says. */
function problemStatuses(endpoint: Endpoint): number[] {
  // Every request: an unknown query parameter or a token in X-Request-Id (400), a long target (414), too many headers (431).
  const statuses = new Set([400, 414, 431, 500, ...endpoint.problems]);
  if (pathParameterNames(endpoint.path).length > 0) statuses.add(404);
  if (endpoint.body) [413, 415].forEach((status) => statuses.add(status));
  if (endpoint.scope !== 'public') [401, 403, 429].forEach((status) => statuses.add(status));
  else if (!endpoint.liveness) statuses.add(429);
  // Shed when the process is full (overloaded), and a token is looked up in the database.
  if (!endpoint.liveness) statuses.add(503);
  return [...statuses].sort((a, b) => a - b);
}

function responses(endpoint: Endpoint, components: Components): Json {
  const { status, schema, mediaType } = endpoint.response;
  const success =
    schema === undefined
      ? { description: 'No content' }
      : { description: 'OK', content: { [mediaType ?? 'application/json']: { schema: components.use(schema) } } };
  const answers: Json = { [status]: success };
  for (const code of problemStatuses(endpoint)) answers[code] = { $ref: `#/components/responses/Problem${code}` };
  return answers;
}

/** Who may call it: no token, or a token (x-required-scope: the scope it needs; null: any). */
function security(endpoint: Endpoint): Json {
  if (endpoint.scope === 'public') return { security: [] };
  return { security: [{ bearerToken: [] }], 'x-required-scope': requiredScope(endpoint), 'x-team-rule': endpoint.teams };
}

function operationId(endpoint: Endpoint): string {
  return `${endpoint.method.toLowerCase()}${openApiPath(endpoint.path).replace(/[^A-Za-z0-9]+(\w?)/g, (_, c: string) => c.toUpperCase())}`;
}

function operation(endpoint: Endpoint, components: Components): Json {
  const params = parameters(endpoint, components);
  return {
    tags: [endpoint.tag],
    summary: endpoint.summary,
    ...security(endpoint),
    operationId: operationId(endpoint),
    ...(params.length > 0 ? { parameters: params } : {}),
    ...(endpoint.body ? { requestBody: { required: endpoint.bodyRequired, content: { 'application/json': { schema: components.use(endpoint.body) } } } } : {}),
    responses: responses(endpoint, components),
  };
}

export function buildOpenApiDocument(endpoints: readonly Endpoint[]): Json {
  const components = new Components();
  const paths: Record<string, Record<string, Json>> = {};
  for (const endpoint of endpoints) {
    (paths[openApiPath(endpoint.path)] ??= {})[endpoint.method.toLowerCase()] = operation(endpoint, components);
  }
  const problem = components.use(ProblemView);
  const problemResponses = Object.fromEntries(
    Object.entries(PROBLEMS).map(([code, description]) => [`Problem${code}`, { description, content: { 'application/problem+json': { schema: problem } } }]),
  );
  return {
    openapi: '3.1.0',
    info: { title: 'klaxon', version: packageJson.version, description: packageJson.description },
    tags: [...new Set(endpoints.map((endpoint) => endpoint.tag))].map((name) => ({ name })),
    paths,
    components: {
      schemas: components.schemas,
      responses: problemResponses,
      securitySchemes: {
        bearerToken: {
          type: 'http',
          scheme: 'bearer',
          description:
            "An API token (klx_...). Scopes: read, write (implies read), admin (implies all), metrics. x-required-scope on each operation names the one it needs (organisation-admin: an admin token of no team); x-team-rule says whether a team's token may call it.",
        },
      },
    },
    security: [{ bearerToken: [] }],
  };
}
