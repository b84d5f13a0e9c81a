/**
 * Slack: chat.postMessage with a bot token, a Block Kit message with Acknowledge and
 * Resolve buttons; chat.update to show who acted; the checks and parsing the
 * interactions endpoint needs (v0 request signature, the `payload` form field).
 *
 * Delivery guarantee: at least once. "Sent" means Slack answered `ok: true` and gave the
 * message's channel and ts (the provider id, `channel:ts`, which chat.update needs).
 * Slack answers most failures with HTTP 200 and `{ok: false, error}`: `ratelimited` (also
 * HTTP 429 with Retry-After) and Slack's own outages are transient; every other error
 * (invalid_auth, channel_not_found, not_in_channel, is_archived, ...) is permanent, so
 * the person's next contact method is tried at once rather than after five doomed
 * retries. Slack has no idempotency key: a crash between the post and recording its
 * answer re-posts it. The message carries the idempotency key in its metadata so a
 * duplicate can be told apart (and found with conversations.history if it matters).
 */
import { createHmac } from 'node:crypto';
import type { Clock } from '../../clock/clock.ts';
import { type Channel, type Delivery, type DeliveryOutcome, type SlackMessage, permanent, sent, transient } from './channel.ts';
import { type HttpResult, post, retryAfterMs, snippet } from './http.ts';
import { type SignatureCheck, anyEqual, asList } from './signature.ts';

/** The action_id of each button; the interactions endpoint maps them back. */
export const SLACK_ACTION_IDS = { acknowledge: 'klaxon_acknowledge', resolve: 'klaxon_resolve' } as const;

/** Errors Slack documents as temporary: the same call may succeed later. */
const TRANSIENT_ERRORS = new Set(['ratelimited', 'rate_limited', 'internal_error', 'fatal_error', 'service_unavailable', 'request_timeout']);

export interface SlackChannelOptions {
  /** xoxb-...: needs chat:write (and chat:write.public to post in channels it was not invited to). */
  botToken: string;
  clock: Clock;
  /** Default https://slack.com/api; the tests' stand-in elsewhere. */
  apiBaseUrl?: string;
  timeoutMs?: number;
}

export interface SlackMessageRef {
  channel: string;
  ts: string;
}

export interface SlackChannel extends Channel<'slack'> {
  /** Replaces a message this bot posted (after someone acted on it). */
  update(ref: SlackMessageRef, message: SlackMessage, signal: AbortSignal): Promise<DeliveryOutcome>;
}

export function createSlackChannel(options: SlackChannelOptions): SlackChannel {
  const { botToken, clock, apiBaseUrl = 'https://slack.com/api', timeoutMs = 10_000 } = options;
  const call = async (method: string, payload: Record<string, unknown>, signal: AbortSignal) => {
    const headers = { 'content-type': 'application/json; charset=utf-8', authorization: `Bearer ${botToken}` };
    const result = await post(`${apiBaseUrl}/${method}`, { headers, body: JSON.stringify(payload) }, { timeoutMs, signal });
    return classifySlackAnswer(result, clock.now().getTime());
  };
  return {
    kind: 'slack',
    send(delivery: Delivery<SlackMessage>, signal: AbortSignal) {
      const { text, blocks } = delivery.message;
      return call(
        'chat.postMessage',
        {
          channel: delivery.destination,
          text,
          blocks,
          // A page is not the place for a link preview of whatever URL a title holds.
          unfurl_links: false,
          unfurl_media: false,
          metadata: {
            event_type: 'klaxon_notification',
            event_payload: { notification_id: delivery.notificationId, idempotency_key: delivery.idempotencyKey },
          },
        },
        signal,
      );
    },
    update(ref: SlackMessageRef, message: SlackMessage, signal: AbortSignal) {
      return call('chat.update', { channel: ref.channel, ts: ref.ts, text: message.text, blocks: message.blocks }, signal);
    },
  };
}

function classifySlackAnswer(result: HttpResult, nowMs: number): DeliveryOutcome {
  if (!result.answered) return result.outcome;
  const { status, headers, text } = result;
  if (status === 429 || status >= 500) return transient(`HTTP ${status}${snippet(text)}`, retryAfterMs(headers, nowMs));
  if (status !== 200) return permanent(`HTTP ${status}${snippet(text)}`);
  let answer: { ok?: unknown; error?: unknown; channel?: unknown; ts?: unknown };
  try {
    answer = JSON.parse(text) as typeof answer;
  } catch {
    return transient(`unreadable answer${snippet(text)}`); // a proxy's error page, most likely
  }
  if (answer.ok === true && typeof answer.channel === 'string' && typeof answer.ts === 'string') {
    return sent(slackMessageId({ channel: answer.channel, ts: answer.ts }));
  }
  const error = typeof answer.error === 'string' ? answer.error : 'no error given';
  if (TRANSIENT_ERRORS.has(error)) return transient(`slack: ${error}`, retryAfterMs(headers, nowMs));
  return permanent(`slack: ${error}`);
}

export function slackMessageId(ref: SlackMessageRef): string {
  return `${ref.channel}:${ref.ts}`;
}

/** The channel and ts in a provider id written by slackMessageId; null for anything else. */
export function parseSlackMessageId(id: string): SlackMessageRef | null {
  const match = /^([A-Z0-9]+):(\d+\.\d+)$/.exec(id);
  return match ? { channel: match[1] as string, ts: match[2] as string } : null;
}

/** The X-Slack-Signature Slack would send: `v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{body}`. */
export function slackSignature(signingSecret: string, timestamp: string, rawBody: string): string {
  return `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:${rawBody}`, 'utf8').digest('hex')}`;
}

/**
 * Whether a request to the interactions endpoint comes from Slack: the signature over the
 * raw body (before the form is parsed) with one of the signing secrets (two while one is
 * being rotated), and a timestamp within 5 minutes of `nowMs` either way, as Slack
 * prescribes, so a captured request cannot be replayed later. Constant-time comparison.
 */
export function verifySlackSignature(
  signingSecret: string | readonly string[],
  timestampHeader: string | null | undefined,
  rawBody: string,
  signatureHeader: string | null | undefined,
  nowMs: number,
): SignatureCheck {
  if (!timestampHeader || !signatureHeader) return { ok: false, reason: 'missing' };
  if (!/^\d{1,12}$/.test(timestampHeader) || !signatureHeader.startsWith('v0=')) return { ok: false, reason: 'malformed' };
  if (Math.abs(nowMs - Number(timestampHeader) * 1000) > 5 * 60_000) return { ok: false, reason: 'stale' };
  const expected = asList(signingSecret).map((secret) => slackSignature(secret, timestampHeader, rawBody));
  const matched = anyEqual([signatureHeader], expected);
  return matched ? { ok: true } : { ok: false, reason: 'bad_signature' };
}

/** A press of one of our buttons, as the interactions endpoint needs it. */
export interface SlackButtonPress {
  action: 'acknowledge' | 'resolve';
  /** The button's value: the signed action token (src/notify/links.ts). */
  token: string;
  /** Who pressed it (Slack's user id): the endpoint maps it to our user. */
  slackUserId: string;
  slackTeamId: string | null;
  /** Where the message is, for chat.update. */
  channelId: string | null;
  messageTs: string | null;
  /** Where a reply to this press may be POSTed (30 minutes, 5 times). */
  responseUrl: string | null;
}

/**
 * The button press in an interaction request's body (form-encoded, the JSON in the
 * `payload` field); null for anything else (another payload type, another button,
 * a link button's click, malformed input). Call it only after verifySlackSignature.
 */
export function parseSlackInteraction(rawBody: string): SlackButtonPress | null {
  const field = new URLSearchParams(rawBody).get('payload');
  if (!field) return null;
  let payload: unknown;
  try {
    payload = JSON.parse(field);
  } catch {
    return null;
  }
  if (!isObject(payload) || payload.type !== 'block_actions') return null;
  const user = isObject(payload.user) ? payload.user : {};
  const actions = Array.isArray(payload.actions) ? payload.actions : [];
  const first: unknown = actions[0];
  if (!isObject(first) || typeof user.id !== 'string' || typeof first.value !== 'string') return null;
  const action = first.action_id === SLACK_ACTION_IDS.acknowledge ? 'acknowledge' : first.action_id === SLACK_ACTION_IDS.resolve ? 'resolve' : null;
  if (action === null) return null;
  const team = isObject(payload.team) ? payload.team : {};
  const channel = isObject(payload.channel) ? payload.channel : {};
  const container = isObject(payload.container) ? payload.container : {};
  const message = isObject(payload.message) ? payload.message : {};
  return {
    action,
    token: first.value,
    slackUserId: user.id,
    slackTeamId: stringOrNull(team.id),
    channelId: stringOrNull(channel.id) ?? stringOrNull(container.channel_id),
    messageTs: stringOrNull(message.ts) ?? stringOrNull(container.message_ts),
    responseUrl: stringOrNull(payload.response_url),
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}
