/**
 * A person's contact methods (issue 11): add, list, read, edit, disable, and verify a
 * phone number. Each write is one transaction stamped by the injected clock.
 *
 * Methods are disabled, never deleted: notifications refer to them (the outbox's
 * contact_method_id is ON DELETE RESTRICT), and the audit of who was told where must
 * keep its meaning. A disabled method is shown nowhere and used for nothing; its rules
 * go with it. The in_app method every person gets with their record cannot be disabled:
 * nobody is paged into the void.
 *
 * Verification (sms, voice): a 6-digit code from crypto.randomInt, stored as its
 * SHA-256 with an expiry, sent through the notifier like any notification (an outbox
 * row of type `verification`, payload {"code": "123456"}), and confirmed through the
 * API with a constant-time comparison. Five wrong guesses void the code: 10^6 codes
 * against 5 guesses per code and one code a minute makes guessing hopeless.
 */
import { createHash, randomInt, timingSafeEqual } from 'node:crypto';
import type pg from 'pg';
import { type Queryable, run, sql } from '../db/queries.ts';
import { inTransaction } from '../db/transaction.ts';
import {
  type ContactMethod,
  VERIFICATION,
  VerificationTooSoonError,
  addressIssue,
  needsVerification,
  verificationConflict,
} from '../domain/contact-methods.ts';
import { ConflictError, InvalidInputError, NotFoundError } from '../domain/errors.ts';
import type { ChannelKind } from '../domain/notifications.ts';
import type { CommandDeps } from './deps.ts';
import { oneOrNotFound, written } from './records.ts';

/** More would be a script gone wrong, not a person's ways of being reached. */
export const MAX_CONTACT_METHODS_PER_USER = 50;

export interface ContactMethodRow {
  id: string;
  user_id: string;
  kind: ChannelKind;
  address: string;
  label: string | null;
  position: number;
  verified_at: Date | null;
  verification_code_hash: string | null;
  verification_expires_at: Date | null;
  verification_attempts: number;
  disabled_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

function toContactMethod(row: ContactMethodRow): ContactMethod {
  return {
    id: row.id,
    userId: row.user_id,
    kind: row.kind,
    address: row.address,
    label: row.label,
    position: row.position,
    verifiedAt: row.verified_at,
    verificationExpiresAt: row.verification_code_hash === null ? null : row.verification_expires_at,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export interface NewContactMethod {
  kind: ChannelKind;
  /** Absent for in_app (which cannot be added: every person has one). */
  address: string;
  label?: string | null | undefined;
  /** Absent: after the others. */
  position?: number | undefined;
}

export interface ContactMethodChanges {
  address?: string | undefined;
  /** null clears it. */
  label?: string | null | undefined;
  position?: number | undefined;
}

/** The person's row, or 404 user: every path under /users/:id starts here. */
export async function assertUserExists(db: Queryable, userId: string): Promise<void> {
  await oneOrNotFound(db, sql('users-get'), 'user', userId);
}

async function lockedMethod(client: pg.PoolClient, userId: string, methodId: string): Promise<ContactMethodRow> {
  const [row] = await run<ContactMethodRow>(client, sql('contact-method-lock'), [userId, methodId]);
  if (!row) throw new NotFoundError('contact method', methodId);
  return row;
}

/** A person's methods in use, in fallback order. */
export async function listContactMethods(db: Queryable, userId: string): Promise<ContactMethod[]> {
  await assertUserExists(db, userId);
  return (await run<ContactMethodRow>(db, sql('contact-methods-list'), [userId])).map(toContactMethod);
}

export async function getContactMethod(db: Queryable, userId: string, methodId: string): Promise<ContactMethod> {
  await assertUserExists(db, userId);
  const [row] = await run<ContactMethodRow>(db, sql('contact-method-get'), [userId, methodId]);
  if (!row) throw new NotFoundError('contact method', methodId);
  return toContactMethod(row);
}

export async function createContactMethod(deps: CommandDeps, userId: string, input: NewContactMethod): Promise<ContactMethod> {
  if (input.kind === 'in_app') {
    throw new InvalidInputError([
      { field: 'kind', rule: 'in_app_builtin', message: 'every person has exactly one in_app method, made with them; it cannot be added' },
    ]);
  }
  const issue = addressIssue(input.kind, input.address);
  if (issue) throw new InvalidInputError([issue]);
  return inTransaction(deps.pool, async (client) => {
    // The person's lock orders concurrent additions, so "last" is computed without a race.
    await oneOrNotFound(client, sql('users-lock'), 'user', userId);
    const existing = await run<ContactMethodRow>(client, sql('contact-methods-list'), [userId]);
    if (existing.length >= MAX_CONTACT_METHODS_PER_USER) {
      throw new ConflictError('too_many', `a person has at most ${MAX_CONTACT_METHODS_PER_USER} contact methods; disable one first`);
    }
    if (existing.some((m) => m.kind === input.kind && m.address.toLowerCase() === input.address.toLowerCase())) {
      throw new ConflictError('already_exists', `this person already has a ${input.kind} method with this address (compared case-insensitively)`, {
        field: 'address',
      });
    }
    const rows = await run<ContactMethodRow>(client, sql('contact-method-insert'), [
      userId,
      input.kind,
      input.address,
      input.label ?? null,
      input.position ?? null,
      !needsVerification(input.kind),
      deps.clock.now(),
    ]);
    return toContactMethod(written(rows));
  });
}

/** Changes the fields given. A new sms or voice number must be verified again. */
export async function updateContactMethod(deps: CommandDeps, userId: string, methodId: string, changes: ContactMethodChanges): Promise<ContactMethod> {
  return inTransaction(deps.pool, async (client) => {
    await assertUserExists(client, userId);
    const current = await lockedMethod(client, userId, methodId);
    const newAddress = changes.address !== undefined && changes.address !== current.address;
    if (changes.address !== undefined) {
      const issue = addressIssue(current.kind, changes.address);
      if (issue) throw new InvalidInputError([issue]);
    }
    if (newAddress) {
      const others = await run<ContactMethodRow>(client, sql('contact-methods-list'), [userId]);
      const taken = others.some((m) => m.id !== methodId && m.kind === current.kind && m.address.toLowerCase() === changes.address?.toLowerCase());
      if (taken) {
        throw new ConflictError('already_exists', `this person already has a ${current.kind} method with this address (compared case-insensitively)`, {
          field: 'address',
        });
      }
    }
    const columns = { address: changes.address, label: changes.label, position: changes.position };
    const unverify = newAddress && needsVerification(current.kind);
    const rows = await run<ContactMethodRow>(client, sql('contact-method-update'), [methodId, JSON.stringify(columns), unverify, deps.clock.now()]);
    return toContactMethod(written(rows));
  });
}

/** Disables a method (it disappears; its rules are dropped). The in_app method stays. */
export async function disableContactMethod(deps: CommandDeps, userId: string, methodId: string): Promise<void> {
  await inTransaction(deps.pool, async (client) => {
    await assertUserExists(client, userId);
    const current = await lockedMethod(client, userId, methodId);
    if (current.kind === 'in_app') {
      throw new ConflictError('default_method', 'the in_app method every person has cannot be disabled: it is where a page lands when nothing else works');
    }
    await run(client, sql('contact-method-disable'), [methodId, deps.clock.now()]);
  });
}

// Verification ----------------------------------------------------------------------------

function sha256(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** The expected code's hash against the hash of the one given, in constant time. */
function codeMatches(storedHashHex: string, code: string): boolean {
  const stored = Buffer.from(storedHashHex, 'hex');
  const given = sha256(code);
  return stored.length === given.length && timingSafeEqual(stored, given);
}

function assertVerifiable(row: ContactMethodRow): void {
  if (!needsVerification(row.kind)) {
    throw verificationConflict('not_verifiable', `a ${row.kind} method is verified when it is added; only sms and voice numbers are verified by a code`);
  }
  if (row.verified_at !== null) throw verificationConflict('already_verified', 'this number is already verified');
}

export interface VerificationStarted {
  method: ContactMethod;
  /** The outbox row that carries the code. */
  notificationId: string;
}

/**
 * Sends a new code to an unverified sms or voice number: stores its hash and expiry and
 * writes the outbox row the notifier sends (woken by NOTIFY at commit). At most one a
 * minute per method (VerificationTooSoonError, 429): each is a message to a phone.
 */
export async function requestVerification(deps: CommandDeps, userId: string, methodId: string): Promise<VerificationStarted> {
  return inTransaction(deps.pool, async (client) => {
    await assertUserExists(client, userId);
    const row = await lockedMethod(client, userId, methodId);
    assertVerifiable(row);
    const now = deps.clock.now();
    const [last] = await run<{ sent: string; last_at: Date | null }>(client, sql('notifications-verification-last'), [methodId]);
    const sent = Number(last?.sent ?? 0);
    if (last?.last_at) {
      const waitMs = last.last_at.getTime() + VERIFICATION.resendIntervalMs - now.getTime();
      if (waitMs > 0) throw new VerificationTooSoonError(Math.ceil(waitMs / 1000));
    }
    const code = String(randomInt(0, 10 ** VERIFICATION.digits)).padStart(VERIFICATION.digits, '0');
    const expiresAt = new Date(now.getTime() + VERIFICATION.ttlMs);
    const updated = await run<ContactMethodRow>(client, sql('contact-method-verification-start'), [methodId, sha256(code).toString('hex'), expiresAt, now]);
    const [notification] = await run<{ id: string }>(client, sql('notification-insert-verification'), [
      `verification:${methodId}:${sent + 1}`,
      userId,
      methodId,
      row.kind,
      row.address,
      JSON.stringify({ code }),
      now,
    ]);
    if (!notification) throw new Error(`verification notification ${methodId}:${sent + 1} was already written`);
    return { method: toContactMethod(written(updated)), notificationId: notification.id };
  });
}

type Confirmation = { outcome: 'verified'; method: ContactMethod } | { outcome: 'expired' } | { outcome: 'wrong'; attemptsLeft: number } | { outcome: 'void' };

/**
 * Confirms the code sent. Right: verified. Wrong: 400, and the guess counts (committed,
 * so a refusal cannot be retried for free); the fifth wrong guess voids the code (409).
 * Past its expiry: 400 rule `expired`, ask for a new one.
 */
export async function confirmVerification(deps: CommandDeps, userId: string, methodId: string, code: string): Promise<ContactMethod> {
  const result = await inTransaction(deps.pool, async (client): Promise<Confirmation> => {
    await assertUserExists(client, userId);
    const row = await lockedMethod(client, userId, methodId);
    assertVerifiable(row);
    if (row.verification_code_hash === null || row.verification_expires_at === null) {
      if (row.verification_attempts >= VERIFICATION.maxAttempts) return { outcome: 'void' };
      throw verificationConflict('no_verification_pending', 'no code was sent for this number: ask for one (POST .../verification)');
    }
    const now = deps.clock.now();
    if (row.verification_expires_at.getTime() <= now.getTime()) return { outcome: 'expired' };
    if (codeMatches(row.verification_code_hash, code)) {
      return { outcome: 'verified', method: toContactMethod(written(await run<ContactMethodRow>(client, sql('contact-method-verified'), [methodId, now]))) };
    }
    const [after] = await run<ContactMethodRow>(client, sql('contact-method-verification-wrong'), [methodId, VERIFICATION.maxAttempts, now]);
    const attempts = after?.verification_attempts ?? VERIFICATION.maxAttempts;
    return attempts >= VERIFICATION.maxAttempts ? { outcome: 'void' } : { outcome: 'wrong', attemptsLeft: VERIFICATION.maxAttempts - attempts };
  });
  switch (result.outcome) {
    case 'verified':
      return result.method;
    case 'expired':
      throw new InvalidInputError([{ field: 'code', rule: 'expired', message: 'the code has expired (codes hold 10 minutes): ask for a new one' }]);
    case 'wrong':
      throw new InvalidInputError([
        { field: 'code', rule: 'mismatch', message: `is not the code sent; ${result.attemptsLeft} attempt${result.attemptsLeft === 1 ? '' : 's'} left` },
      ]);
    case 'void':
      throw verificationConflict('verification_void', `${VERIFICATION.maxAttempts} wrong codes: this code is void; ask for a new one (POST .../verification)`);
  }
}
