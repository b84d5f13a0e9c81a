/**
 * The Prometheus Alertmanager webhook (`POST /integrations/alertmanager/:key`), payload
 * version 4, read into one AlertEvent per alert; and the reading of an alert group that
 * Grafana's webhook shares (grafana.ts adds its own fields through a WebhookFlavour).
 *
 * The payload (prometheus/alertmanager notify/webhook Message, template.Data):
 * `{version, groupKey, truncatedAlerts, status, receiver, groupLabels, commonLabels,
 * commonAnnotations, externalURL, alerts: [{status, labels, annotations, startsAt,
 * endsAt, generatorURL, fingerprint}]}`.
 *
 * - Each alert's OWN status is read: a group whose status is `firing` carries the
 *   alerts of the group that resolved since the last notification. Firing is a
 *   trigger, resolved a resolve. An alert that is absent is never resolved for being
 *   absent: `truncatedAlerts` says Alertmanager cut the list (max_alerts).
 * - The dedup key is `<fingerprint>:<startsAt>` (see alertDedupKey): the same alert
 *   re-sent every repeat_interval, or again in another group, is the same occurrence;
 *   the same labels firing again after a resolve start a new one.
 * - Go writes a time that is not set as its zero time, year 1: an endsAt in year 1 is
 *   none.
 */
import type { Severity } from '../incident.ts';
import type { AlertEvent, ParsedAlerts } from './event.ts';
import {
  cutText,
  isBlank,
  isRecord,
  isZeroTime,
  Issues,
  jsonProblem,
  jsonType,
  labelsFingerprint,
  MAX_SOURCE_LENGTH,
  MAX_TITLE_LENGTH,
  parseDateTime,
} from './reading.ts';

export const ALERTMANAGER_PAYLOAD_VERSION = '4';
/**
 * The most alerts one payload may carry. Alertmanager sends a whole group in one
 * request (its webhook's max_alerts is unlimited by default); past this bound the
 * payload is refused (400) rather than acted on in part, so the sender's logs say so.
 */
export const MAX_ALERTS_PER_PAYLOAD = 1000;
/** Alertmanager's fingerprints are 16 hex digits; a sender's own may be longer, but the dedup key holds 255. */
export const MAX_FINGERPRINT_LENGTH = 128;
/** incidents.description holds 10,000 characters (the annotations keep the whole text). */
export const MAX_DESCRIPTION_LENGTH = 10_000;

/** What a webhook adds to the group reading shared by Alertmanager and Grafana. */
export interface WebhookFlavour {
  /** Who sends it, as messages and fallbacks name it ("Alertmanager"). */
  name: string;
  /** The payload `version` this receiver reads. */
  version: string;
  /** What to say when another known version arrives (a payload sent to the wrong receiver). */
  otherVersions: Readonly<Record<string, string>>;
  /** Said after any problem with the version (what else may be wrong). */
  versionHint?: string;
  /** Group fields of this flavour kept beside each alert in `raw`, besides the shared ones. */
  groupFields: readonly string[];
  /** Checks the flavour's own group fields. */
  readGroup(body: Record<string, unknown>, issues: Issues): void;
  /** Checks the flavour's own fields of one alert; returns what goes into the trigger's details. */
  readAlert(alert: Record<string, unknown>, field: string, issues: Issues, group: Record<string, unknown>): Record<string, unknown>;
}

export const ALERTMANAGER: WebhookFlavour = {
  name: 'Alertmanager',
  version: ALERTMANAGER_PAYLOAD_VERSION,
  otherVersions: { '1': 'this looks like a Grafana webhook payload (version "1"): send it to the Grafana integration URL' },
  groupFields: [],
  readGroup: () => {},
  readAlert: () => ({}),
};

export function parseAlertmanager(body: unknown): ParsedAlerts {
  return readAlertGroup(body, ALERTMANAGER);
}

/**
 * The dedup key of a webhook alert: its fingerprint, a colon, and the instant of its
 * startsAt in UTC with milliseconds (`6f1c2b8a9d0e4f37:2026-03-01T09:00:00.000Z`). The
 * instant rather than the text as sent, so that one start written with another offset
 * or more digits (Go writes nanoseconds) is the same key; a finer difference than a
 * millisecond is not a different occurrence of one alert. At most 128 + 1 + 24
 * characters, within the 255 a dedup key may hold.
 */
export function alertDedupKey(fingerprint: string, startsAt: Date): string {
  return `${fingerprint}:${startsAt.toISOString()}`;
}

/**
 * The severity an alert's `severity` label names. The four the Events API knows are
 * taken as they are; the words monitoring setups commonly use instead are mapped:
 * paging-grade words (page, high, major, fatal, emergency, alert, disaster, p1, sev1)
 * to critical, err/p2/sev2 to error, the lesser grades (warn, minor, medium, average,
 * low, p3, p4, sev3, sev4) to warning, and informational ones (information, notice,
 * none, debug, ok, p5) to info. Without the label, or with a word not listed, an alert
 * is `error`: an alert somebody wrote a rule for deserves a page, and critical is kept
 * for those who say so (PagerDuty's Alertmanager integration defaults to error too).
 * Case and surrounding spaces are ignored.
 */
export function severityFromLabel(value: string | undefined): Severity {
  return SEVERITY_WORDS.get((value ?? '').trim().toLowerCase()) ?? 'error';
}

const SEVERITY_WORDS: ReadonlyMap<string, Severity> = new Map<string, Severity>([
  ...['critical', 'crit', 'fatal', 'emergency', 'emerg', 'alert', 'disaster', 'page', 'high', 'major', 'p1', 'sev1'].map((w) => [w, 'critical'] as const),
  ...['error', 'err', 'p2', 'sev2'].map((w) => [w, 'error'] as const),
  ...['warning', 'warn', 'minor', 'medium', 'average', 'low', 'p3', 'p4', 'sev3', 'sev4'].map((w) => [w, 'warning'] as const),
  ...['info', 'informational', 'information', 'notice', 'none', 'debug', 'ok', 'p5'].map((w) => [w, 'info'] as const),
]);

/** The group fields every flavour keeps beside each alert in `raw`. */
const GROUP_FIELDS = ['version', 'receiver', 'status', 'groupKey', 'externalURL', 'truncatedAlerts'] as const;

/** A webhook payload of an alert group read into its alerts' events (Alertmanager's, or Grafana's through its flavour). */
export function readAlertGroup(body: unknown, flavour: WebhookFlavour): ParsedAlerts {
  const issues = new Issues();
  if (!isRecord(body)) {
    issues.add('(body)', 'type', `must be a JSON object (the ${flavour.name} webhook payload), not ${jsonType(body)}`);
    return { ok: false, errors: issues.list() };
  }
  const unstorable = jsonProblem(body, '');
  if (unstorable) return { ok: false, errors: [unstorable] };

  readVersion(body.version, flavour, issues);
  for (const name of ['receiver', 'status', 'groupKey', 'externalURL'] as const) optionalString(body, name, name, issues);
  const truncated = body.truncatedAlerts;
  if (truncated !== undefined && truncated !== null && !(Number.isSafeInteger(truncated) && (truncated as number) >= 0)) {
    issues.add('truncatedAlerts', 'type', `must be a whole number of at least 0 (not ${jsonType(truncated)})`);
  }
  for (const name of ['groupLabels', 'commonLabels', 'commonAnnotations'] as const) {
    const value = body[name];
    if (value !== undefined && value !== null && !isRecord(value)) issues.add(name, 'type', `must be an object (not ${jsonType(value)})`);
  }
  flavour.readGroup(body, issues);

  const alerts = body.alerts;
  if (!Array.isArray(alerts)) {
    if (alerts === undefined || alerts === null) issues.add('alerts', 'required', 'is required (the array of alerts)');
    else issues.add('alerts', 'type', `must be an array of alerts (not ${jsonType(alerts)})`);
    return { ok: false, errors: issues.list() };
  }
  if (alerts.length > MAX_ALERTS_PER_PAYLOAD) {
    issues.add(
      'alerts',
      'maxItems',
      `holds ${alerts.length} alerts; at most ${MAX_ALERTS_PER_PAYLOAD} are read from one payload (set max_alerts on the sender)`,
    );
    return { ok: false, errors: issues.list() };
  }

  const group: Record<string, unknown> = {};
  for (const name of [...GROUP_FIELDS, ...flavour.groupFields]) if (body[name] !== undefined) group[name] = body[name];
  const events: AlertEvent[] = [];
  alerts.forEach((alert: unknown, index) => {
    const event = readAlert(alert, `alerts.${index}`, body, group, flavour, issues);
    if (event) events.push(event);
  });
  return issues.empty ? { ok: true, events } : { ok: false, errors: issues.list() };
}

function readVersion(value: unknown, flavour: WebhookFlavour, issues: Issues): void {
  if (value === flavour.version) return;
  const after = flavour.versionHint ? ` (${flavour.versionHint})` : '';
  if (isBlank(value)) {
    issues.add('version', 'required', `is missing: the ${flavour.name} webhook payload says version "${flavour.version}"${after}`);
    return;
  }
  const other = typeof value === 'string' ? flavour.otherVersions[value] : undefined;
  const sent = typeof value === 'string' ? `"${cutText(value, 20)}"` : jsonType(value);
  issues.add(
    'version',
    'const',
    `must be "${flavour.version}" (the ${flavour.name} webhook payload this receiver reads), not ${sent}${other ? `: ${other}` : after}`,
  );
}

function readAlert(
  alert: unknown,
  field: string,
  body: Record<string, unknown>,
  group: Record<string, unknown>,
  flavour: WebhookFlavour,
  issues: Issues,
): AlertEvent | null {
  if (!isRecord(alert)) {
    issues.add(field, 'type', `must be an alert object (not ${jsonType(alert)})`);
    return null;
  }
  const status = alert.status;
  if (status !== 'firing' && status !== 'resolved') {
    issues.add(`${field}.status`, isBlank(status) ? 'required' : 'enum', 'must be "firing" or "resolved"');
  }
  const labels = stringMap(alert.labels, `${field}.labels`, true, issues);
  const annotations = stringMap(alert.annotations, `${field}.annotations`, false, issues);
  const startsAt = dateTime(alert.startsAt, `${field}.startsAt`, true, issues);
  const endsAt = dateTime(alert.endsAt, `${field}.endsAt`, false, issues);
  for (const name of ['generatorURL', 'fingerprint'] as const) optionalString(alert, name, `${field}.${name}`, issues);
  const sentFingerprint = typeof alert.fingerprint === 'string' && alert.fingerprint.trim() !== '' ? alert.fingerprint : null;
  if (sentFingerprint !== null && sentFingerprint.length > MAX_FINGERPRINT_LENGTH) {
    issues.add(`${field}.fingerprint`, 'maxLength', `is too long (at most ${MAX_FINGERPRINT_LENGTH} characters)`);
  }
  const extra = flavour.readAlert(alert, field, issues, body);
  if (!issues.empty || labels === null || annotations === null || !startsAt) return null;

  // Older senders and hand-written payloads omit the fingerprint: the one Alertmanager
  // would compute from the labels is used, so that they dedup alike.
  const fingerprint = sentFingerprint ?? labelsFingerprint(labels);
  const dedupKey = alertDedupKey(fingerprint, startsAt);
  const raw = { ...group, alert };
  // The key carries the alert's start: the same key again is the same occurrence re-sent,
  // which must not reopen what someone resolved (event.ts, AlertEventBase.reopens).
  if (status === 'resolved') return { action: 'resolve', dedupKey, raw, reopens: false };

  const receiver = typeof body.receiver === 'string' ? body.receiver : undefined;
  const summary = annotations.summary?.trim() ? annotations.summary : fallbackSummary(labels, flavour);
  const description = annotations.description?.trim() ? cutText(annotations.description, MAX_DESCRIPTION_LENGTH) : null;
  const source = [labels.instance, labels.job, receiver].find((text) => text !== undefined && text.trim() !== '') ?? flavour.name;
  const details: Record<string, unknown> = {
    labels,
    annotations,
    startsAt: alert.startsAt,
    endsAt: endsAt && !isZeroTime(endsAt) ? alert.endsAt : null,
    generatorURL: alert.generatorURL ?? null,
    fingerprint,
    ...(sentFingerprint === null ? { fingerprintDerived: true } : {}),
    externalURL: body.externalURL ?? null,
    groupKey: body.groupKey ?? null,
    receiver: receiver ?? null,
    ...extra,
  };
  return {
    action: 'trigger',
    dedupKey,
    raw,
    reopens: false,
    summary: cutText(summary, MAX_TITLE_LENGTH),
    description,
    source: cutText(source, MAX_SOURCE_LENGTH),
    severity: severityFromLabel(labels.severity),
    timestamp: isZeroTime(startsAt) ? null : startsAt,
    details,
  };
}

/**
 * A title for an alert without a summary annotation: its alertname and where it fires
 * (`HighLatency on api-1:9100 (job api)`), or, without those, its labels as Prometheus
 * writes them.
 */
function fallbackSummary(labels: Record<string, string>, flavour: WebhookFlavour): string {
  const present = (text: string | undefined) => (text !== undefined && text.trim() !== '' ? text.trim() : undefined);
  const name = present(labels.alertname);
  const instance = present(labels.instance);
  const job = present(labels.job);
  if (name === undefined && instance === undefined && job === undefined) {
    const shown = Object.keys(labels)
      .sort()
      .map((key) => `${key}=${JSON.stringify(labels[key])}`);
    return `${flavour.name} alert {${shown.join(', ')}}`;
  }
  return [name ?? `${flavour.name} alert`, instance && `on ${instance}`, job && `(job ${job})`].filter(Boolean).join(' ');
}

/** A map of strings (labels, annotations); null when it is not one (problems noted). Absent: {} unless required. */
function stringMap(value: unknown, field: string, required: boolean, issues: Issues): Record<string, string> | null {
  if (value === undefined || value === null) {
    if (!required) return {};
    issues.add(field, 'required', 'is required (an object of label names to values)');
    return null;
  }
  if (!isRecord(value)) {
    issues.add(field, 'type', `must be an object of names to string values (not ${jsonType(value)})`);
    return null;
  }
  let ok = true;
  for (const [name, text] of Object.entries(value)) {
    if (typeof text !== 'string') {
      issues.add(`${field}.${cutText(name, 100)}`, 'type', `must be a string (not ${jsonType(text)})`);
      ok = false;
    }
  }
  return ok ? (value as Record<string, string>) : null;
}

/** A date-time with an offset, as Go writes them; null when absent, undefined when wrong (noted). */
function dateTime(value: unknown, field: string, required: boolean, issues: Issues): Date | null | undefined {
  if (isBlank(value)) {
    if (required) issues.add(field, 'required', 'is required (an RFC 3339 date and time)');
    return required ? undefined : null;
  }
  const date = typeof value === 'string' ? parseDateTime(value, 'required') : null;
  if (date === null) {
    issues.add(field, 'format', 'must be an RFC 3339 date and time with an offset, such as 2026-03-01T09:00:00Z');
    return undefined;
  }
  return date;
}

/** Notes a problem if `record[name]` is present (not null) and not a string. */
export function optionalString(record: Record<string, unknown>, name: string, field: string, issues: Issues): void {
  const value = record[name];
  if (value !== undefined && value !== null && typeof value !== 'string') issues.add(field, 'type', `must be a string (not ${jsonType(value)})`);
}
