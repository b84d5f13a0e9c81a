/** Notification contexts and deliveries for the notify tests. */
import { ManualClock } from '../../src/clock/clock.ts';
import type { Delivery } from '../../src/notify/channels/channel.ts';
import type { DigestContext, EscalationContext, IncidentSummary, StateNoticeContext, VerificationContext } from '../../src/notify/templates.ts';

export const NOW = new Date('2026-11-23T16:20:00.000Z');
export const clockAt = (at: Date = NOW) => new ManualClock(at);

/** A title that tries everything: markup, a Slack broadcast, a link, controls, bidi override, zero-width, a newline. */
export const HOSTILE_TITLE = '<script>alert(1)</script> & <!channel> [click](https://evil.example) *bold*\u0007\u202egnp.exe\u200b\r\nX-Injected: yes';

export function incident(overrides: Partial<IncidentSummary> = {}): IncidentSummary {
  return {
    id: '8c0e3f5e-4c1a-4e51-9f57-4cf5f1f3a0b9',
    title: 'checkout 5xx above 5%',
    severity: 'critical',
    serviceName: 'payments',
    state: 'ESCALATING',
    url: 'https://klaxon.example/incidents/8c0e3f5e-4c1a-4e51-9f57-4cf5f1f3a0b9',
    ...overrides,
  };
}

export function escalation(overrides: Partial<EscalationContext> = {}): EscalationContext {
  return {
    type: 'escalation',
    recipient: { name: 'Alice' },
    occurredAt: NOW,
    incident: incident(),
    level: 2,
    repeatCycle: 0,
    othersPaged: ['Bob', 'Carol'],
    acknowledge: { url: 'https://klaxon.example/a/ACK-TOKEN', token: 'ACK-TOKEN' },
    resolve: { url: 'https://klaxon.example/a/RES-TOKEN', token: 'RES-TOKEN' },
    replyCode: '4821',
    ...overrides,
  };
}

export function notice(type: 'acknowledged' | 'resolved', overrides: Partial<StateNoticeContext> = {}): StateNoticeContext {
  return {
    type,
    recipient: { name: 'Bob' },
    occurredAt: NOW,
    incident: incident({ state: type === 'acknowledged' ? 'ACKNOWLEDGED' : 'RESOLVED' }),
    actor: 'Alice',
    ...overrides,
  };
}

export function verification(overrides: Partial<VerificationContext> = {}): VerificationContext {
  return { type: 'verification', recipient: { name: 'Alice' }, occurredAt: NOW, code: '482193', expiresInMinutes: 10, ...overrides };
}

export function digest(overrides: Partial<DigestContext> = {}): DigestContext {
  return {
    type: 'digest',
    recipient: { name: 'Alice' },
    occurredAt: NOW,
    incidents: [incident(), incident({ id: 'b1', title: 'disk 90% on db-2', severity: 'warning' })],
    moreCount: 37,
    listUrl: 'https://klaxon.example/incidents?state=ESCALATING',
    ...overrides,
  };
}

export function delivery<M>(destination: string, message: M, overrides: Partial<Delivery<M>> = {}): Delivery<M> {
  return { notificationId: 'n-1', idempotencyKey: 'esc-1:user-1:method-1:rule-1', destination, message, ...overrides };
}

/** A signal that never aborts (the test's own timeouts bound the call). */
export const never = (): AbortSignal => new AbortController().signal;

/** A signal that aborts after `ms`. */
export const abortAfter = (ms: number): AbortSignal => AbortSignal.timeout(ms);
