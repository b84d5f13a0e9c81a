/**
 * Signed action links (issue 11, "Acknowledge from the message"): a token that lets one
 * person take one action on one incident until it expires, without logging in. It goes
 * in the acknowledge and resolve links of e-mails and Teams cards, and in the value of
 * Slack's buttons. (SMS uses the short reply code instead: a link is too long for it.)
 *
 * Token: `<key id>.<payload>.<mac>`, base64url, about 250 characters. The payload is JSON
 * with short names (incident, user, action, channel, notification, expiry in unix
 * seconds); the mac is HMAC-SHA256 over `<key id>.<payload>` with that key's secret, so
 * the key id cannot be swapped either. Keys rotate: sign with the first of the list,
 * verify with whichever the token names; a retired key's tokens fail as `unknown_key`,
 * so keep the old key listed for one TTL (24 h by default) after adding a new one.
 *
 * What the token does not do: stop a replay. A token is usable until it expires; the
 * POST it authorises must be idempotent (acknowledging an acknowledged incident changes
 * nothing), and a GET of the link only shows a confirmation page (mail scanners follow
 * links), which is the lead's side (src/api).
 */
import { createHash, createHmac } from 'node:crypto';
import { CHANNEL_KINDS, type ChannelKind } from './channels/channel.ts';
import { anyEqual } from './channels/signature.ts';

export type ActionName = 'acknowledge' | 'resolve';

export interface ActionKey {
  /** Short and URL-safe: [A-Za-z0-9_-]{1,16}; it travels in every token. */
  id: string;
  /** At least 32 characters of randomness (e.g. `openssl rand -base64 32`). */
  secret: string;
}

export interface ActionGrant {
  incidentId: string;
  userId: string;
  action: ActionName;
  /** Where the link was sent, for the audit row ("acknowledged by Alice through email"). */
  channel: ChannelKind;
  notificationId?: string | null;
}

export interface VerifiedAction extends Required<ActionGrant> {
  expiresAt: Date;
  keyId: string;
}

export type ActionRefusal = 'malformed' | 'bad_signature' | 'expired' | 'unknown_key' | 'wrong_action';

export const DEFAULT_ACTION_TTL_MS = 24 * 60 * 60_000;

const KEY_ID = /^[A-Za-z0-9_-]{1,16}$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** Throws, naming the problem, unless `keys` is a usable key list (call it when reading the configuration). */
export function assertActionKeys(keys: readonly ActionKey[]): void {
  if (keys.length === 0) throw new Error('action links need at least one signing key');
  const seen = new Set<string>();
  for (const { id, secret } of keys) {
    if (!KEY_ID.test(id)) throw new Error(`action key id ${JSON.stringify(id)} must match ${KEY_ID.source}`);
    if (seen.has(id)) throw new Error(`action key id ${id} is listed twice`);
    if (secret.length < 32) throw new Error(`action key ${id} is too short: 32 characters at least`);
    seen.add(id);
  }
}

export function signAction(
  grant: ActionGrant,
  { keys, now, ttlMs = DEFAULT_ACTION_TTL_MS }: { keys: readonly ActionKey[]; now: Date; ttlMs?: number },
): string {
  assertActionKeys(keys);
  const key = keys[0] as ActionKey;
  const claims: Claims = {
    i: grant.incidentId,
    u: grant.userId,
    a: grant.action,
    c: grant.channel,
    e: Math.floor((now.getTime() + ttlMs) / 1000),
    ...(grant.notificationId ? { n: grant.notificationId } : {}),
  };
  const signed = `${key.id}.${Buffer.from(JSON.stringify(claims), 'utf8').toString('base64url')}`;
  return `${signed}.${mac(key.secret, signed)}`;
}

/**
 * The grant a token carries, or why it is refused. `expectAction`: the action the
 * endpoint performs (a resolve token is no good on the acknowledge form, and the other
 * way round). Checked in this order: shape, key, signature, payload, expiry, action.
 */
export function verifyAction(
  token: string,
  { keys, now, expectAction }: { keys: readonly ActionKey[]; now: Date; expectAction?: ActionName },
): VerifiedAction | { refused: ActionRefusal } {
  assertActionKeys(keys);
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every((part) => BASE64URL.test(part))) return { refused: 'malformed' };
  const [keyId, payload, given] = parts as [string, string, string];
  const key = keys.find((candidate) => candidate.id === keyId);
  if (!key) return { refused: 'unknown_key' };
  if (!anyEqual([given], [mac(key.secret, `${keyId}.${payload}`)])) return { refused: 'bad_signature' };
  const claims = parseClaims(payload);
  if (!claims) return { refused: 'malformed' };
  if (now.getTime() >= claims.e * 1000) return { refused: 'expired' };
  if (expectAction !== undefined && claims.a !== expectAction) return { refused: 'wrong_action' };
  return {
    incidentId: claims.i,
    userId: claims.u,
    action: claims.a,
    channel: claims.c,
    notificationId: claims.n ?? null,
    expiresAt: new Date(claims.e * 1000),
    keyId,
  };
}

interface Claims {
  i: string;
  u: string;
  a: ActionName;
  c: ChannelKind;
  n?: string;
  e: number;
}

function mac(secret: string, data: string): string {
  return createHmac('sha256', secret).update(data, 'utf8').digest('base64url');
}

/** The claims of a signed payload; null if they are not what signAction writes (a bug, or an old format). */
function parseClaims(payload: string): Claims | null {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const { i, u, a, c, n, e } = value as Record<string, unknown>;
  const id = (x: unknown): x is string => typeof x === 'string' && x.length > 0 && x.length <= 64;
  if (!id(i) || !id(u) || (n !== undefined && !id(n))) return null;
  if (a !== 'acknowledge' && a !== 'resolve') return null;
  if (!CHANNEL_KINDS.includes(c as ChannelKind)) return null;
  if (typeof e !== 'number' || !Number.isSafeInteger(e)) return null;
  return { i, u, a, c: c as ChannelKind, e, ...(n === undefined ? {} : { n }) };
}

// ---------------------------------------------------------------------------------------
// From the configuration to links

/**
 * The keys of NOTIFY_LINK_KEYS (a list of secrets, the first signs): each secret's id is
 * the first 8 characters of the base64url SHA-256 of the secret, so every process (API,
 * notifier, CLI) derives the same id from the same secret without an id being configured,
 * and the id says nothing usable about the secret. A secret listed twice is refused (by
 * assertActionKeys: the same id twice).
 */
export function actionKeysFrom(secrets: readonly string[]): ActionKey[] {
  return secrets.map((secret) => ({ id: createHash('sha256').update(secret, 'utf8').digest('base64url').slice(0, 8), secret }));
}

/** What signing and building links needs of config.notify. */
export interface LinkSettings {
  publicUrl: string;
  linkKeys: readonly string[];
  linkTtlMs: number;
}

/**
 * The URL of a signed token: `<PUBLIC_URL>/actions?token=<token>`. The token travels in
 * the query, not the path: the access log and the audit log record paths, and a token is a
 * credential for a day. GET shows a confirmation page, POST acts (src/api/endpoints/inbound.ts).
 */
export function actionUrl(settings: Pick<LinkSettings, 'publicUrl'>, token: string): string {
  return `${settings.publicUrl}${INBOUND_PATHS.actions}?token=${token}`;
}

/** A grant signed with the configured keys and TTL, and its URL (the shape templates take as an ActionLink). */
export function actionLink(settings: LinkSettings, grant: ActionGrant, now: Date): { url: string; token: string } {
  const token = signAction(grant, { keys: actionKeysFrom(settings.linkKeys), now, ttlMs: settings.linkTtlMs });
  return { url: actionUrl(settings, token), token };
}

/** The paths of the inbound endpoints (src/api/endpoints/inbound.ts), for the URLs given to providers. */
export const INBOUND_PATHS = {
  actions: '/actions',
  slackInteractions: '/integrations/slack/interactions',
  twilioSms: '/integrations/twilio/sms',
  twilioStatus: '/integrations/twilio/status',
  twilioVoice: '/integrations/twilio/voice',
} as const;

/**
 * The URLs the Twilio channels hand to the provider for one notification: where the call
 * fetches its TwiML, where its key press goes, where status callbacks go (the notification
 * id in the query, so a receipt finds its row even before the SID is recorded). Twilio
 * signs the URL exactly as given here, and the endpoints verify against PUBLIC_URL + the
 * path and query they receive.
 */
export function twilioUrls(settings: Pick<LinkSettings, 'publicUrl'>): {
  twiml: (notificationId: string) => string;
  gather: (notificationId: string) => string;
  status: (notificationId: string) => string;
} {
  const base = settings.publicUrl;
  return {
    twiml: (id) => `${base}${INBOUND_PATHS.twilioVoice}/${id}`,
    gather: (id) => `${base}${INBOUND_PATHS.twilioVoice}/${id}/gather`,
    status: (id) => `${base}${INBOUND_PATHS.twilioStatus}?notification=${id}`,
  };
}
