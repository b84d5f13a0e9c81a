/**
 * The throttles of issue 11, decided for a claimed batch (pure):
 *
 * - one escalation notification per contact method per incident per window (default
 *   1 minute): a later one is SKIPPED 'throttled' (level 2 paging the same person a few
 *   seconds after level 1 does not ring the same phone twice);
 * - per destination (a number, an address) at most `perMinute` escalation
 *   notifications a minute: the surplus is FOLDED into one digest per destination and
 *   minute, sent when the minute ends ("and 37 more incidents"): a storm of 100
 *   incidents is 10 messages and a digest, not 100 messages.
 *
 * In-app is never folded (nothing leaves klaxon; its destination is the person).
 * Notices, verification codes and digests are never throttled.
 */

export interface ThrottleCandidate {
  id: string;
  type: string;
  channel: string;
  destination: string;
  incidentId: string | null;
  contactMethodId: string;
  /** An escalation notification on the same method and incident was sent within the window. */
  throttled: boolean;
  /** Escalation notifications sent to this channel and destination in the last minute. */
  destinationRecent: number;
}

export type ThrottleDecision = { kind: 'send' } | { kind: 'skip'; reason: string } | { kind: 'fold' };

export function decideThrottles(rows: readonly ThrottleCandidate[], perMinute: number): Map<string, ThrottleDecision> {
  const decisions = new Map<string, ThrottleDecision>();
  const seenMethod = new Set<string>();
  const perDestination = new Map<string, number>();
  for (const row of rows) {
    if (row.type !== 'escalation') {
      decisions.set(row.id, { kind: 'send' });
      continue;
    }
    const methodKey = `${row.incidentId ?? ''}|${row.contactMethodId}`;
    if (row.throttled || seenMethod.has(methodKey)) {
      decisions.set(row.id, { kind: 'skip', reason: 'throttled' });
      continue;
    }
    seenMethod.add(methodKey);
    if (row.channel === 'in_app') {
      decisions.set(row.id, { kind: 'send' });
      continue;
    }
    const destinationKey = `${row.channel}|${row.destination}`;
    const count = perDestination.get(destinationKey) ?? row.destinationRecent;
    if (count >= perMinute) {
      decisions.set(row.id, { kind: 'fold' });
      continue;
    }
    perDestination.set(destinationKey, count + 1);
    decisions.set(row.id, { kind: 'send' });
  }
  return decisions;
}

export const DIGEST_WINDOW_MS = 60_000;

/** The digest a row folded at `now` joins: keyed by channel, destination and minute, due at the minute's end. */
export function digestFor(channel: string, destination: string, now: Date): { key: string; dueAt: Date } {
  const start = Math.floor(now.getTime() / DIGEST_WINDOW_MS) * DIGEST_WINDOW_MS;
  return { key: `digest:${channel}:${destination}:${start}`, dueAt: new Date(start + DIGEST_WINDOW_MS) };
}
