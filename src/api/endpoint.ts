/**
 * An endpoint is one declaration: method, path template, who may call it (scope and
 * team rule), the schemas of its path, query and body, the schema of its answer, and
 * its handler. The router (src/api/router.ts), the access decision
 * (src/api/admission.ts) and the OpenAPI document (src/api/openapi.ts) are all built
 * from the list in src/api/endpoints/index.ts, so they cannot disagree: a request is
 * admitted by the declaration of the route it matched, never by its raw path.
 *
 * The handler's input types come from the schemas (TypeBox's Static), and its
 * return type from the response schema, which is the presenter's view.
 */
import type Koa from 'koa';
import type { Principal } from '../auth/principal.ts';
import { type Scope, grants } from '../domain/scopes.ts';
import { type Static, type TSchema, Type, Uuid } from '../schema/types.ts';
import { type Validator, compile } from '../schema/validator.ts';
import type { AppDeps } from './deps.ts';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * Who may call an endpoint: `public` needs no token (the health probes); `any` any
 * valid token whatever its scopes; otherwise a token that carries the scope
 * (src/domain/scopes.ts says what each scope carries).
 */
export type ScopeRule = 'public' | 'any' | Scope;

/**
 * Which tokens by team. `any-team`: a team's token too, whose commands then see and
 * change that team's records only (they take the caller's scope). `organisation`:
 * only a token of no team, for what every team shares (people, teams).
 */
export type TeamRule = 'any-team' | 'organisation';

/** The names of a path template's parameters: `/schedules/:id/overrides/:overrideId` -> 'id' | 'overrideId'. */
export type ParamNames<Path extends string> = Path extends `${string}:${infer Name}/${infer Rest}`
  ? Name | ParamNames<`/${Rest}`>
  : Path extends `${string}:${infer Name}`
    ? Name
    : never;

export interface EndpointRequest<Path extends string, S extends ScopeRule, Q extends TSchema, B extends TSchema> {
  /** Every path parameter is a UUID, validated and in lower case. */
  params: Record<ParamNames<Path>, string>;
  query: Static<Q>;
  /** `{}` when the body is optional and none was sent. */
  body: Static<B>;
  principal: S extends 'public' ? undefined : Principal;
  /** For response headers (Location, Cache-Control) and the request's own. */
  ctx: Koa.Context;
}

export interface EndpointResponse<R extends TSchema | undefined> {
  /** 202: accepted for processing (the Events API's answer to an event, which clients expect). */
  status: 200 | 201 | 202 | 204;
  /** The answer's schema (a presenter's view); absent for 204. */
  schema?: R;
  /** Another media type than JSON (the docs page, Prometheus' text format). */
  mediaType?: 'text/html; charset=utf-8' | 'text/plain; version=0.0.4; charset=utf-8' | 'text/xml; charset=utf-8';
}

type Result<R extends TSchema | undefined> = R extends TSchema ? Static<R> : void;

const EMPTY = Type.Object({}, { additionalProperties: false });
type Empty = typeof EMPTY;

export interface EndpointDeclaration<Path extends string, S extends ScopeRule, Q extends TSchema, B extends TSchema, R extends TSchema | undefined> {
  method: HttpMethod;
  /** As the router reads it: `/incidents/:id/acknowledge`. Matched case-sensitively, without a trailing slash. */
  path: Path;
  /** The OpenAPI tag: the resource it belongs to. */
  tag: string;
  summary: string;
  scope: S;
  /** Default `any-team`. */
  teams?: TeamRule;
  /**
   * A path parameter that is not an id: its schema (an integration key in the URL a
   * webhook is sent to). Default: every parameter is a UUID.
   */
  pathParams?: Partial<Record<ParamNames<Path>, TSchema>>;
  /**
   * A public endpoint whose callers bring a credential of their own, which the handler
   * checks and rate-limits by (an integration key: its own budget). Such a request
   * takes from the client address's bucket only when the credential is invalid
   * (src/api/endpoints/intake.ts), so a monitoring system that sends every service's
   * alerts from one address is held to each key's limit, not to one address's.
   */
  ownRateLimit?: true;
  /** An object schema of the query parameters (string, integer or boolean values); none: no parameter allowed. */
  query?: Q;
  body?: B;
  /** Default true when there is a body; false: a missing body counts as `{}`. */
  bodyRequired?: boolean;
  response: EndpointResponse<R>;
  /** Problem statuses beyond those its parameters, body and access imply (400, 401, 403, 404, 413, 415, 429). */
  problems?: readonly number[];
  /** False: answers without the database (no 503 database_unavailable). */
  touchesDatabase?: boolean;
  /**
   * A liveness probe (/healthz): answers whatever the load, never rate limited nor
   * shed, since an orchestrator kills a process whose probe fails, and killing a busy
   * process is the worst answer to load. It must cost nothing (no I/O).
   */
  liveness?: true;
  handler: (request: EndpointRequest<Path, S, Q, B>, deps: AppDeps) => Promise<Result<R>> | Result<R>;
}

/** A declaration with its types erased (for the list every generator reads) and its validators compiled. */
export interface Endpoint {
  readonly method: HttpMethod;
  readonly path: string;
  readonly tag: string;
  readonly summary: string;
  readonly scope: ScopeRule;
  readonly teams: TeamRule;
  /** The path parameters' schema, made from the template: each a UUID. */
  readonly params: TSchema;
  readonly query: TSchema;
  readonly body: TSchema | undefined;
  readonly bodyRequired: boolean;
  readonly response: EndpointResponse<TSchema | undefined>;
  readonly problems: readonly number[];
  readonly touchesDatabase: boolean;
  readonly liveness: boolean;
  readonly ownRateLimit: boolean;
  readonly validate: { params: Validator<unknown>; query: Validator<unknown>; body: Validator<unknown> | undefined };
  readonly handler: (request: EndpointRequest<string, ScopeRule, TSchema, TSchema>, deps: AppDeps) => unknown;
}

/** The names of a path template's parameters, in order. */
export function pathParameterNames(path: string): string[] {
  return [...path.matchAll(/:(\w+)/g)].map(([, name]) => name as string);
}

export function endpoint<Path extends string, S extends ScopeRule, R extends TSchema | undefined, Q extends TSchema = Empty, B extends TSchema = Empty>(
  declaration: EndpointDeclaration<Path, S, Q, B, R>,
): Endpoint {
  const declared: Record<string, TSchema | undefined> = declaration.pathParams ?? {};
  const params = Type.Object(Object.fromEntries(pathParameterNames(declaration.path).map((name) => [name, declared[name] ?? Uuid()])), {
    additionalProperties: false,
  });
  const query = declaration.query ?? EMPTY;
  const body = declaration.body;
  return {
    ...declaration,
    teams: declaration.teams ?? 'any-team',
    params,
    query,
    body,
    bodyRequired: body !== undefined && declaration.bodyRequired !== false,
    problems: declaration.problems ?? [],
    touchesDatabase: declaration.touchesDatabase ?? true,
    liveness: declaration.liveness === true,
    ownRateLimit: declaration.ownRateLimit === true,
    validate: { params: compile(params), query: compile(query), body: body && compile(body) },
  };
}

/**
 * The scope a 403 names: the endpoint's, or `organisation-<scope>` when only a token
 * of no team may call it (docs/errors.md, `required_scope`).
 */
export function requiredScope(endpoint: Endpoint): string | null {
  if (endpoint.scope === 'public' || endpoint.scope === 'any') return null;
  return endpoint.teams === 'organisation' ? `organisation-${endpoint.scope}` : endpoint.scope;
}

/** Whether a token may call an endpoint that needs one. */
export function permits(principal: Principal, endpoint: Endpoint): boolean {
  if (endpoint.teams === 'organisation' && principal.teamId !== null) return false;
  if (endpoint.scope === 'public' || endpoint.scope === 'any') return true;
  return grants(principal.scopes, endpoint.scope);
}
