/**
 * Integration keys of a service (issue 12): create (the key is returned once, only its
 * hash is stored), list, read, revoke; and the per-key rate intake takes from. Keys are
 * never deleted: the alert log refers to them. A key belongs to its service's team: a
 * team's caller sees and changes only its team's services' keys, and another team's
 * answer as if they did not exist.
 */
import { type ResolvedIntegrationKey, generateIntegrationKey } from '../auth/integration-keys.ts';
import { INTEGRATION_KEY_REVOKED_CHANNEL } from '../auth/revocations.ts';
import { type Queryable, run, sql } from '../db/queries.ts';
import { type IntegrationKeyRow, toIntegrationKey } from '../db/rows.ts';
import { inTransaction } from '../db/transaction.ts';
import { type FieldIssue, InvalidInputError, NotFoundError } from '../domain/errors.ts';
import type { IntegrationKey } from '../domain/integration-keys.ts';
import { type TeamScope, canSee } from '../domain/team-scope.ts';
import type { RateLimitDecision, RateLimiter } from '../ratelimit/rate-limiter.ts';
import type { CommandDeps } from './deps.ts';
import { type NamePage, type NamePageQuery, pageByName, visibleOrNotFound, written } from './records.ts';

/** integration_keys' CHECK constraints, checked first so that a refusal names the field. */
export const INTEGRATION_KEY_LIMITS = Object.freeze({
  nameMax: 200,
  rateMax: 100_000,
  signingSecretMin: 16,
  signingSecretMax: 200,
});

/** No control characters (C0, DEL, C1): a secret is typed or pasted, never a line break or an escape. */
const CONTROL = /\p{Cc}/u;

export interface NewIntegrationKeyInput {
  serviceId: string;
  name: string;
  /** null or absent: the configured default (INTAKE_RATE_PER_MINUTE). */
  ratePerMinute?: number | null | undefined;
  /** null or absent: the configured default (INTAKE_RATE_BURST). */
  rateBurst?: number | null | undefined;
  /** Grafana's HMAC secret; null or absent: Grafana's requests need no signature. */
  signingSecret?: string | null | undefined;
}

export interface CreatedIntegrationKey {
  /** The whole key: shown once, never stored. */
  key: string;
  record: IntegrationKey;
}

/** The fields at fault, each with its rule (the API's schema says the same; the CLI relies on this). */
function checkNewKey(input: NewIntegrationKeyInput): void {
  const issues: FieldIssue[] = [];
  const { nameMax, rateMax, signingSecretMin, signingSecretMax } = INTEGRATION_KEY_LIMITS;
  if (input.name.trim() === '' || input.name.length > nameMax) {
    issues.push({ field: 'name', rule: 'length', message: `must be 1 to ${nameMax} characters, not only blanks` });
  } else if (CONTROL.test(input.name)) {
    issues.push({ field: 'name', rule: 'pattern', message: 'must not contain control characters' });
  }
  for (const [field, value] of [
    ['rate_per_minute', input.ratePerMinute],
    ['rate_burst', input.rateBurst],
  ] as const) {
    if (value != null && (!Number.isInteger(value) || value < 1 || value > rateMax)) {
      issues.push({ field, rule: 'range', message: `must be a whole number from 1 to ${rateMax}` });
    }
  }
  const secret = input.signingSecret;
  if (secret != null) {
    if (secret.length < signingSecretMin || secret.length > signingSecretMax) {
      issues.push({ field: 'signing_secret', rule: 'length', message: `must be ${signingSecretMin} to ${signingSecretMax} characters` });
    } else if (CONTROL.test(secret)) {
      issues.push({ field: 'signing_secret', rule: 'pattern', message: 'must not contain control characters' });
    }
  }
  if (issues.length > 0) throw new InvalidInputError(issues);
}

/**
 * Makes a key for a service the caller sees (another team's answers 404, like a missing
 * one). `createdBy` says who, in words (an API token's label, `cli:<user>`).
 */
export async function createIntegrationKey(
  deps: CommandDeps,
  scope: TeamScope,
  input: NewIntegrationKeyInput,
  createdBy: string,
): Promise<CreatedIntegrationKey> {
  checkNewKey(input);
  const made = generateIntegrationKey();
  const row = await inTransaction(deps.pool, async (client) => {
    // FOR UPDATE like an edit: a delete of the service waits, then finds the key.
    await visibleOrNotFound(client, sql('services-lock'), scope, 'service', input.serviceId);
    return written(
      await run<IntegrationKeyRow>(client, sql('integration-key-insert'), [
        input.serviceId,
        input.name,
        made.hash,
        made.hint,
        input.ratePerMinute ?? null,
        input.rateBurst ?? null,
        input.signingSecret ?? null,
        createdBy,
        deps.clock.now(),
      ]),
    );
  });
  return { key: made.key, record: toIntegrationKey(row) };
}

/** A service's keys by name (revoked ones too), for a service the caller sees. */
export async function listIntegrationKeys(db: Queryable, scope: TeamScope, serviceId: string, page: NamePageQuery): Promise<NamePage<IntegrationKey>> {
  await visibleOrNotFound(db, sql('services-get'), scope, 'service', serviceId);
  return pageByName<IntegrationKeyRow & { sort_key: string }, IntegrationKey>(db, sql('integration-key-list'), page, (rows) => rows.map(toIntegrationKey), [
    serviceId,
  ]);
}

export async function getIntegrationKey(db: Queryable, scope: TeamScope, id: string): Promise<IntegrationKey> {
  const row = await visibleOrNotFound<IntegrationKeyRow & { team_id: string | null }>(db, sql('integration-key-get'), scope, 'integration key', id);
  return toIntegrationKey(row);
}

/**
 * Revokes a key at once: the API processes hear of it when it commits
 * (src/auth/revocations.ts) and refuse the next alert sent with it. Revoking twice
 * answers the key as it is: its first revocation (time and who) stays.
 */
export async function revokeIntegrationKey(deps: CommandDeps, scope: TeamScope, id: string, revokedBy: string): Promise<IntegrationKey> {
  return inTransaction(deps.pool, async (client) => {
    await getIntegrationKey(client, scope, id);
    const [row] = await run<IntegrationKeyRow>(client, sql('integration-key-revoke'), [id, deps.clock.now(), revokedBy, INTEGRATION_KEY_REVOKED_CHANNEL]);
    if (!row || !canSee(scope, row.team_id ?? null)) throw new NotFoundError('integration key', id);
    return toIntegrationKey(row);
  });
}

/** What intake needs of a key to take from its budget. */
export type BudgetedKey = Pick<ResolvedIntegrationKey, 'id' | 'ratePerMinute' | 'rateBurst'>;

/**
 * One alert request from a key's budget, by the key's own policy (its rate, or the
 * configured default that IntegrationKeys filled in). Shared by every API process
 * through Redis; while Redis is down, per process in memory (never throws for it).
 */
export function takeIntakeBudget(deps: { intakeRateLimiter: RateLimiter }, key: BudgetedKey): Promise<RateLimitDecision> {
  return deps.intakeRateLimiter.take(intakeSubject(key.id), { ratePerMinute: key.ratePerMinute, burst: key.rateBurst });
}

/** The rate-limit bucket of a key (src/api/rate-limit.ts names the subjects). */
export function intakeSubject(keyId: string): string {
  return `integration:${keyId}`;
}
