/**
 * The one interface every delivery channel implements (issue 11, "Channels").
 *
 * A channel takes one rendered message to one destination and says what became of it.
 * It never throws for a provider's answer or a network failure: it classifies them, so
 * the notifier's retry policy lives in one place (the outbox), not in seven catch blocks.
 * It throws only for a programming error (a message of the wrong shape).
 *
 * Each channel module states its delivery guarantee in its header: what "sent" means,
 * what is retried, and how a re-send after a crash is kept from being a second page.
 */

import type { ChannelKind } from '../../domain/notifications.ts';

export { CHANNEL_KINDS, type ChannelKind } from '../../domain/notifications.ts';

/** What each channel sends; src/notify/templates.ts renders every one of them. */
export interface EmailMessage {
  subject: string;
  text: string;
  html: string;
}

export interface SmsMessage {
  text: string;
}

export interface VoiceMessage {
  /** What is read out (plain text: the TwiML builder escapes it). */
  say: string;
  /** Whether the call asks for a key press (1 acknowledge, 2 resolve). */
  gather: boolean;
}

export interface SlackMessage {
  /** The fallback text: notifications and clients without blocks show it (mrkdwn, escaped). */
  text: string;
  blocks: unknown[];
}

export interface TeamsMessage {
  /** An Adaptive Card (the `content` of the attachment). */
  card: Record<string, unknown>;
}

export interface WebhookMessage {
  /** Serialised once, signed, sent as is. */
  body: Record<string, unknown>;
}

export interface InAppMessage {
  title: string;
  body: string;
  /** Where clicking it leads (the incident). */
  url: string | null;
}

export interface MessageByKind {
  email: EmailMessage;
  sms: SmsMessage;
  voice: VoiceMessage;
  slack: SlackMessage;
  teams: TeamsMessage;
  webhook: WebhookMessage;
  in_app: InAppMessage;
}

export interface Delivery<M> {
  /** The outbox row; channels put it in callback URLs and headers so answers find their row. */
  notificationId: string;
  /** Stable across every attempt of the same notification (issue 11: escalation, user, method, rule). */
  idempotencyKey: string;
  /** The address as the contact method stores it: an e-mail address, an E.164 number, a Slack channel or user id, a URL. */
  destination: string;
  message: M;
}

export type DeliveryOutcome =
  /** The provider took responsibility for it. `providerMessageId` is its id (null: the provider gives none). */
  | { status: 'sent'; providerMessageId: string | null }
  /** Worth another attempt later (with backoff; not before `retryAfterMs` when the provider said so). */
  | { status: 'transient'; error: string; retryAfterMs?: number }
  /** Another attempt would get the same answer: fail this method, try the person's next one. */
  | { status: 'permanent'; error: string };

export interface Channel<K extends ChannelKind = ChannelKind> {
  readonly kind: K;
  /**
   * Delivers one message. `signal` bounds the whole attempt (the notifier's lease and
   * shutdown); every channel also applies its own timeout. Resolves, never rejects, for
   * anything the provider or the network does.
   */
  send(delivery: Delivery<MessageByKind[K]>, signal: AbortSignal): Promise<DeliveryOutcome>;
  /** Releases pooled connections (SMTP); absent when there is nothing to release. */
  close?(): Promise<void>;
}

export const sent = (providerMessageId: string | null): DeliveryOutcome => ({ status: 'sent', providerMessageId });
export const permanent = (error: string): DeliveryOutcome => ({ status: 'permanent', error });
export const transient = (error: string, retryAfterMs?: number): DeliveryOutcome =>
  retryAfterMs === undefined ? { status: 'transient', error } : { status: 'transient', error, retryAfterMs };
