/**
 * A person's notification rules (issue 11): which contact method is used how long after
 * a page (0 at once; e.g. SMS at once, voice after 5 minutes if still unacknowledged). A
 * person with no rules is told on every usable method at once. A rule on an sms or
 * voice number not yet verified takes effect once it is.
 */
import { type Queryable, run, sql } from '../db/queries.ts';
import { inTransaction } from '../db/transaction.ts';
import type { NotificationRule } from '../domain/contact-methods.ts';
import { DURATION_BOUNDS, durationWithin } from '../domain/durations.ts';
import { ConflictError, InvalidInputError, NotFoundError, ReferenceNotFoundError } from '../domain/errors.ts';
import type { ChannelKind } from '../domain/notifications.ts';
import { assertUserExists } from './contact-methods.ts';
import type { CommandDeps } from './deps.ts';
import { oneOrNotFound, written } from './records.ts';

/** Rules a person may have: one per method and delay, and a few delays per method is already a lot. */
export const MAX_RULES_PER_USER = 100;

interface RuleRow {
  id: string;
  user_id: string;
  contact_method_id: string;
  delay_ms: string | number;
  created_at: Date;
  kind: ChannelKind;
}

export interface RuleWithMethod extends NotificationRule {
  contactMethodKind: ChannelKind;
}

function toRule(row: RuleRow, kind: ChannelKind): RuleWithMethod {
  return {
    id: row.id,
    userId: row.user_id,
    contactMethodId: row.contact_method_id,
    delayMs: Number(row.delay_ms),
    createdAt: row.created_at,
    contactMethodKind: kind,
  };
}

/** A person's rules, by delay. */
export async function listNotificationRules(db: Queryable, userId: string): Promise<RuleWithMethod[]> {
  await assertUserExists(db, userId);
  return (await run<RuleRow>(db, sql('notification-rules-list'), [userId])).map((row) => toRule(row, row.kind));
}

export interface NewNotificationRule {
  contactMethodId: string;
  /** `0s` (at once) to `24h`. */
  delay: string;
}

export async function createNotificationRule(deps: CommandDeps, userId: string, input: NewNotificationRule): Promise<RuleWithMethod> {
  const delay = durationWithin(input.delay, DURATION_BOUNDS.notificationRuleDelay);
  if (!delay.ok) throw new InvalidInputError([{ field: 'delay', rule: delay.reason, message: delay.message }]);
  return inTransaction(deps.pool, async (client) => {
    // The person's lock orders concurrent additions against the bound below.
    await oneOrNotFound(client, sql('users-lock'), 'user', userId);
    // The method's lock keeps it from being disabled before the rule commits.
    const [method] = await run<{ kind: ChannelKind }>(client, sql('contact-method-lock'), [userId, input.contactMethodId]);
    if (!method) {
      throw new ReferenceNotFoundError([
        { field: 'contact_method_id', rule: 'exists', message: `this person has no contact method ${input.contactMethodId} in use` },
      ]);
    }
    const existing = await run<RuleRow>(client, sql('notification-rules-list'), [userId]);
    if (existing.length >= MAX_RULES_PER_USER) throw new ConflictError('too_many', `a person has at most ${MAX_RULES_PER_USER} notification rules`);
    const rows = await run<RuleRow>(client, sql('notification-rule-insert'), [userId, input.contactMethodId, delay.ms, deps.clock.now()]);
    if (rows.length === 0) {
      throw new ConflictError('already_exists', 'this person already has a rule for this contact method at this delay', { field: 'delay' });
    }
    return toRule(written(rows), method.kind);
  });
}

export async function deleteNotificationRule(deps: CommandDeps, userId: string, ruleId: string): Promise<void> {
  await assertUserExists(deps.pool, userId);
  const rows = await run(deps.pool, sql('notification-rule-delete'), [userId, ruleId]);
  if (rows.length === 0) throw new NotFoundError('notification rule', ruleId);
}
