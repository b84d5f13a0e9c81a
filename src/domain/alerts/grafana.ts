/**
 * The Grafana alerting webhook contact point (`POST /integrations/grafana/:key`): its
 * default payload read into AlertEvents, and its optional HMAC signature checked.
 *
 * The payload (grafana/alerting receivers/webhook/v1 webhookMessage, templates
 * ExtendedData and ExtendedAlert) is Alertmanager's alert group, version "1", plus
 * Grafana's fields: `orgId`, `title`, `state` (`alerting` or `ok`) and `message` for
 * the group; `values`, `valueString`, `silenceURL`, `dashboardURL`, `panelURL`,
 * `imageURL`, `ruleUID` and `orgId` for each alert. The shared part is read by
 * alertmanager.ts (readAlertGroup), so an alert's status, dedup key
 * (`<fingerprint>:<startsAt>`), severity, summary and source follow the same rules. A
 * custom payload template replaces the whole body and is not read (its version is
 * refused with a message saying so).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { ParsedAlerts } from './event.ts';
import { optionalString, readAlertGroup, type WebhookFlavour } from './alertmanager.ts';
import { isRecord, type Issues, jsonType } from './reading.ts';

export const GRAFANA_PAYLOAD_VERSION = '1';

/** Grafana's per-alert fields kept in a trigger's details, when sent and not empty. */
const ALERT_TEXT_FIELDS = ['valueString', 'silenceURL', 'dashboardURL', 'panelURL', 'imageURL', 'ruleUID'] as const;

export const GRAFANA: WebhookFlavour = {
  name: 'Grafana',
  version: GRAFANA_PAYLOAD_VERSION,
  otherVersions: { '4': 'this looks like an Alertmanager webhook payload (version "4"): send it to the Alertmanager integration URL' },
  versionHint: "Grafana's default webhook payload is read; a custom payload template is not",
  // Not `message`: it is the whole group's text (every alert of it, templated), and
  // `raw` repeats the group's fields beside each alert in the alert log.
  groupFields: ['orgId', 'title', 'state'],
  readGroup(body, issues) {
    wholeNumber(body, 'orgId', 'orgId', issues);
    for (const name of ['title', 'state', 'message']) optionalString(body, name, name, issues);
  },
  readAlert(alert, field, issues, body) {
    const details: Record<string, unknown> = {};
    for (const name of ALERT_TEXT_FIELDS) {
      optionalString(alert, name, `${field}.${name}`, issues);
      if (typeof alert[name] === 'string' && alert[name] !== '') details[name] = alert[name];
    }
    const values = alert.values;
    if (values !== undefined && values !== null) {
      if (!isRecord(values)) {
        issues.add(`${field}.values`, 'type', `must be an object of names to numbers (not ${jsonType(values)})`);
      } else {
        for (const [name, value] of Object.entries(values)) {
          if (typeof value !== 'number') issues.add(`${field}.values.${name}`, 'type', `must be a number (not ${jsonType(value)})`);
        }
        details.values = values;
      }
    }
    wholeNumber(alert, 'orgId', `${field}.orgId`, issues);
    const orgId = alert.orgId ?? body.orgId;
    if (orgId !== undefined && orgId !== null) details.orgId = orgId;
    return details;
  },
};

export function parseGrafana(body: unknown): ParsedAlerts {
  return readAlertGroup(body, GRAFANA);
}

function wholeNumber(record: Record<string, unknown>, name: string, field: string, issues: Issues): void {
  const value = record[name];
  if (value !== undefined && value !== null && !Number.isSafeInteger(value)) issues.add(field, 'type', `must be a whole number (not ${jsonType(value)})`);
}

// The signature ------------------------------------------------------------------------------

/**
 * Where Grafana puts the signature unless the contact point names another header
 * (grafana/alerting http/hmac.go, defaultHeaderName). Header names are matched
 * without regard to case.
 */
export const GRAFANA_SIGNATURE_HEADER = 'X-Grafana-Alerting-Signature';
/**
 * Grafana has no default timestamp header: it signs a timestamp only when the contact
 * point's "Timestamp header" names one. This is the name we ask for (README, "Sending
 * alerts"); a signature made with a timestamp sent under another name does not verify.
 */
export const GRAFANA_TIMESTAMP_HEADER = 'X-Grafana-Alerting-Timestamp';
/** How far a signed timestamp may be from now, either way (a replay past it is refused; clocks drift). */
export const MAX_SIGNATURE_AGE_MS = 5 * 60_000;

export interface GrafanaSignatureInput {
  /** The contact point's HMAC secret (integration_keys.signing_secret). */
  secret: string;
  /** The request body exactly as received: the signature is over these bytes. */
  body: Uint8Array | string;
  /** The signature header's value, if any. */
  signature: string | null | undefined;
  /** The timestamp header's value, if any. */
  timestamp?: string | null | undefined;
  now: Date;
}

export type GrafanaSignatureCheck = { ok: true } | { ok: false; reason: 'missing' | 'malformed' | 'stale' | 'mismatch'; message: string };

const HEX_SHA256 = /^[0-9a-fA-F]{64}$/;
const UNIX_SECONDS = /^[0-9]{1,15}$/;

/**
 * Checks Grafana's HMAC signature (grafana/alerting http/hmac.go, HMACRoundTripper.sign):
 * HMAC-SHA256 keyed with the secret's UTF-8 bytes, over the body, or, when a timestamp
 * header is configured, over `<unix seconds>:<body>`; sent as lowercase hex. The
 * comparison takes the same time whatever the signature (timingSafeEqual on two
 * 32-byte digests). A timestamp, when sent, must be within MAX_SIGNATURE_AGE_MS of now.
 */
export function checkGrafanaSignature(input: GrafanaSignatureInput): GrafanaSignatureCheck {
  const signature = input.signature?.trim() ?? '';
  if (signature === '')
    return { ok: false, reason: 'missing', message: `the request has no ${GRAFANA_SIGNATURE_HEADER} header; this integration key requires a signature` };
  if (!HEX_SHA256.test(signature)) return { ok: false, reason: 'malformed', message: 'the signature is not a hex HMAC-SHA256 (64 hex digits)' };
  const timestamp = input.timestamp?.trim() ?? '';
  if (timestamp !== '') {
    if (!UNIX_SECONDS.test(timestamp))
      return { ok: false, reason: 'malformed', message: `the ${GRAFANA_TIMESTAMP_HEADER} header is not a Unix time in seconds` };
    const ageMs = Math.abs(input.now.getTime() - Number(timestamp) * 1000);
    if (ageMs > MAX_SIGNATURE_AGE_MS) {
      return {
        ok: false,
        reason: 'stale',
        message: `the signed timestamp is ${Math.round(ageMs / 1000)} s from now; at most ${MAX_SIGNATURE_AGE_MS / 1000} s are allowed`,
      };
    }
  }
  const hmac = createHmac('sha256', Buffer.from(input.secret, 'utf8'));
  if (timestamp !== '') hmac.update(`${timestamp}:`, 'utf8');
  hmac.update(typeof input.body === 'string' ? Buffer.from(input.body, 'utf8') : input.body);
  const expected = hmac.digest();
  const given = Buffer.from(signature, 'hex');
  if (!timingSafeEqual(expected, given)) return { ok: false, reason: 'mismatch', message: 'the signature does not match the body and the secret' };
  return { ok: true };
}

/** Whether a Grafana request's signature is good (checkGrafanaSignature says why not). */
export function verifyGrafanaSignature(input: GrafanaSignatureInput): boolean {
  return checkGrafanaSignature(input).ok;
}
