/**
 * The PagerDuty Events API v2 alert event (`POST /v2/enqueue`), read into an AlertEvent.
 * Clients written for that API must work unchanged, so its rules are followed as its
 * documentation states them (developer.pagerduty.com, "Send an Alert Event"; PagerDuty/
 * developer-docs docs/events-API-v2/02-Trigger-Events.md):
 *
 * - `routing_key` and `event_action` (`trigger`, `acknowledge`, `resolve`) are required;
 *   `dedup_key` is at most 255 characters, required to acknowledge or resolve, optional
 *   on a trigger (intake makes one and answers it).
 * - A trigger needs `payload` with `summary` (at most 1024 characters), `source` (at most
 *   255) and `severity` (`critical`, `error`, `warning`, `info`); `timestamp`,
 *   `component`, `group`, `class` and `custom_details` are optional, as are `links`
 *   ({href, text?}), `images` ({src, href?, alt?}), `client` and `client_url`.
 * - Fields it does not know are ignored (kept in the raw body), as PagerDuty does.
 *
 * Problems come back twice: as the API words them in its 400 (`errors`, e.g.
 * "'payload.summary' is missing or blank"; the severity and event_action wording is
 * PagerDuty's own) and as our FieldIssues. Every problem is reported, not the first only;
 * nothing here throws on any input.
 */
import type { FieldIssue } from '../errors.ts';
import { SEVERITIES, type Severity } from '../incident.ts';
import { ALERT_ACTIONS, type AlertAction, type AlertEvent, MAX_DEDUP_KEY_LENGTH, MAX_EVENT_BYTES } from './event.ts';
import {
  codePointLength,
  cutText,
  isBlank,
  isRecord,
  jsonProblem,
  jsonType,
  MAX_REPORTED_ISSUES,
  MAX_SOURCE_LENGTH,
  MAX_TITLE_LENGTH,
  parseDateTime,
} from './reading.ts';

/** payload.summary's bound in the Events API. */
export const MAX_SUMMARY_LENGTH = 1024;
/**
 * The routing key's shape is only checked loosely here (PagerDuty's are 32 characters;
 * so are ours, and intake checks the key itself): a bound keeps a pasted essay out of
 * the error path.
 */
export const MAX_ROUTING_KEY_LENGTH = 64;

export type EventsV2Parse =
  | { ok: true; routingKey: string; event: AlertEvent }
  /** `routingKey`: the key as sent when it could be read (to log the invalid event against it), else null. */
  | { ok: false; routingKey: string | null; errors: string[]; issues: FieldIssue[] };

interface Problem {
  issue: FieldIssue;
  /** The Events API's wording. */
  text: string;
}

class Problems {
  readonly all: Problem[] = [];
  private dropped = 0;

  /** A problem; its API wording is `'<field>' <message>` unless given. */
  add(field: string, rule: string, message: string, text = `'${field}' ${message}`): void {
    if (this.all.length < MAX_REPORTED_ISSUES) this.all.push({ issue: { field, rule, message }, text });
    else this.dropped += 1;
  }

  /** How many problems were found, kept or not. */
  get count(): number {
    return this.all.length + this.dropped;
  }

  get empty(): boolean {
    return this.count === 0;
  }

  result(routingKey: string | null): EventsV2Parse & { ok: false } {
    const more = this.dropped > 0 ? [`and ${this.dropped} more problems like these`] : [];
    const moreIssue = this.dropped > 0 ? [{ field: '(more)', rule: 'maxErrors', message: more[0] as string }] : [];
    return {
      ok: false,
      routingKey,
      errors: [...this.all.map((p) => p.text), ...more],
      issues: [...this.all.map((p) => p.issue), ...moreIssue],
    };
  }
}

const ACTION_CHOICES = "must be one of the following: 'trigger', 'acknowledge' or 'resolve'";
// PagerDuty's own wording, order included.
const SEVERITY_CHOICES = "must be one of the following: 'critical', 'warning', 'error' or 'info'";

export function parseEventsV2(body: unknown): EventsV2Parse {
  const problems = new Problems();
  if (!isRecord(body)) {
    problems.add('(body)', 'type', `must be a JSON object (not ${jsonType(body)})`, `The event must be a JSON object (not ${jsonType(body)})`);
    return problems.result(null);
  }

  const routingKey = readRoutingKey(body.routing_key, problems);
  // Before reading anything else: what cannot be stored (nesting past the bound, U+0000,
  // lone surrogates) is refused whole, with its field named.
  const unstorable = jsonProblem(body, '');
  if (unstorable) {
    problems.add(unstorable.field, unstorable.rule, unstorable.message);
    return problems.result(routingKey);
  }

  const action = readAction(body.event_action, problems);
  const dedupKey = readDedupKey(body.dedup_key, action, problems);
  const raw: Record<string, unknown> = { ...body };
  delete raw.routing_key; // a secret: never logged

  if (action !== null && action !== 'trigger') {
    if (!problems.empty || routingKey === null || dedupKey === null) return problems.result(routingKey);
    return { ok: true, routingKey, event: { action, dedupKey, raw, reopens: true } };
  }

  // A trigger, or an unreadable action: a payload sent is read either way, so that one
  // answer names every problem (but a missing one is not blamed on a mistyped "resolve").
  const trigger = action === null && body.payload === undefined ? null : readPayload(body.payload, problems);
  const details = readContext(body, problems);
  if (!problems.empty || routingKey === null || action === null || trigger === null) return problems.result(routingKey);

  if (trigger.summary !== trigger.title) details.summary = trigger.summary;
  return {
    ok: true,
    routingKey,
    event: {
      action: 'trigger',
      dedupKey,
      raw,
      // A trigger after a resolve is a new problem: the Events API opens a new alert.
      reopens: true,
      summary: trigger.title,
      description: null,
      source: trigger.source,
      severity: trigger.severity,
      timestamp: trigger.timestamp,
      details: { ...trigger.details, ...details },
    },
  };
}

function readRoutingKey(value: unknown, problems: Problems): string | null {
  if (isBlank(value)) {
    problems.add('routing_key', 'required', 'is missing or blank');
    return null;
  }
  if (typeof value !== 'string') {
    problems.add('routing_key', 'type', `must be a string (not ${jsonType(value)})`);
    return null;
  }
  if (value.length > MAX_ROUTING_KEY_LENGTH) {
    problems.add(
      'routing_key',
      'maxLength',
      `is too long (at most ${MAX_ROUTING_KEY_LENGTH} characters)`,
      "Length of 'routing_key' is incorrect (should be 32 characters)",
    );
    return null;
  }
  return value;
}

function readAction(value: unknown, problems: Problems): AlertAction | null {
  if (isBlank(value)) {
    problems.add('event_action', 'required', 'is missing or blank');
    return null;
  }
  if (typeof value !== 'string' || !(ALERT_ACTIONS as readonly string[]).includes(value)) {
    problems.add('event_action', 'enum', `is invalid (${ACTION_CHOICES})`);
    return null;
  }
  return value as AlertAction;
}

/** The dedup key, or null: absent (or blank) on a trigger, or a problem noted. */
function readDedupKey(value: unknown, action: AlertAction | null, problems: Problems): string | null {
  if (isBlank(value)) {
    // A trigger without one gets one made by intake; '' is how many clients say "none".
    if (action === 'acknowledge' || action === 'resolve') problems.add('dedup_key', 'required', 'is missing or blank');
    return null;
  }
  if (typeof value !== 'string') {
    problems.add('dedup_key', 'type', `must be a string (not ${jsonType(value)})`);
    return null;
  }
  if (codePointLength(value) > MAX_DEDUP_KEY_LENGTH) {
    problems.add('dedup_key', 'maxLength', `is too long (at most ${MAX_DEDUP_KEY_LENGTH} characters)`);
    return null;
  }
  return value;
}

interface TriggerPayload {
  summary: string;
  title: string;
  source: string;
  severity: Severity;
  timestamp: Date | null;
  details: Record<string, unknown>;
}

function readPayload(value: unknown, problems: Problems): TriggerPayload | null {
  if (isBlank(value)) {
    problems.add('payload', 'required', 'is missing or blank');
    return null;
  }
  if (!isRecord(value)) {
    problems.add('payload', 'type', `must be a JSON object (not ${jsonType(value)})`);
    return null;
  }
  const summary = requiredText(value.summary, 'payload.summary', MAX_SUMMARY_LENGTH, problems);
  const source = requiredText(value.source, 'payload.source', MAX_SOURCE_LENGTH, problems);
  const severity = readSeverity(value.severity, problems);
  const timestamp = readTimestamp(value.timestamp, problems);
  const details: Record<string, unknown> = {};
  for (const name of ['component', 'group', 'class'] as const) {
    const text = optionalText(value[name], `payload.${name}`, problems);
    if (text !== null) details[name] = text;
  }
  if (value.custom_details !== undefined && value.custom_details !== null) {
    // Any JSON, as the API takes it; its nesting is bounded by the body's check. Its size
    // is bounded here too, for a caller that did not bound the body.
    const bytes = Buffer.byteLength(JSON.stringify(value.custom_details), 'utf8');
    if (bytes > MAX_EVENT_BYTES) {
      problems.add('payload.custom_details', 'maxSize', `is too large (${bytes} bytes as JSON; at most ${MAX_EVENT_BYTES})`);
    } else {
      details.custom_details = value.custom_details;
    }
  }
  if (summary === null || source === null || severity === null || timestamp === undefined) return null;
  return { summary, title: cutText(summary, MAX_TITLE_LENGTH), source, severity, timestamp, details };
}

function requiredText(value: unknown, field: string, max: number, problems: Problems): string | null {
  if (isBlank(value)) {
    problems.add(field, 'required', 'is missing or blank');
    return null;
  }
  if (typeof value !== 'string') {
    problems.add(field, 'type', `must be a string (not ${jsonType(value)})`);
    return null;
  }
  if (codePointLength(value) > max) {
    problems.add(field, 'maxLength', `is too long (at most ${max} characters)`);
    return null;
  }
  return value;
}

/** An optional string: null or absent is none; anything else but a string is a problem (noted, null returned). */
function optionalText(value: unknown, field: string, problems: Problems): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') {
    problems.add(field, 'type', `must be a string (not ${jsonType(value)})`);
    return null;
  }
  return value;
}

function readSeverity(value: unknown, problems: Problems): Severity | null {
  if (isBlank(value)) {
    problems.add('payload.severity', 'required', 'is missing or blank');
    return null;
  }
  if (typeof value !== 'string' || !(SEVERITIES as readonly string[]).includes(value)) {
    problems.add('payload.severity', 'enum', `is invalid (${SEVERITY_CHOICES})`);
    return null;
  }
  return value as Severity;
}

/** The time, null when not given, undefined when given wrong (a problem noted). */
function readTimestamp(value: unknown, problems: Problems): Date | null | undefined {
  if (isBlank(value)) return null;
  // No offset reads as UTC: the API's clients mostly send toISOString(), and a
  // zone-less time has no better reading.
  const date = typeof value === 'string' ? parseDateTime(value.trim(), 'utc') : null;
  if (date === null) {
    problems.add('payload.timestamp', 'format', 'is invalid (must be an ISO 8601 date and time, such as 2026-03-01T09:00:00Z)');
    return undefined;
  }
  return date;
}

/** links, images, client and client_url: checked, and kept in details as sent. */
function readContext(body: Record<string, unknown>, problems: Problems): Record<string, unknown> {
  const details: Record<string, unknown> = {};
  const links = readObjects(body.links, 'links', 'href', ['text'], problems);
  if (links !== null) details.links = links;
  const images = readObjects(body.images, 'images', 'src', ['href', 'alt'], problems);
  if (images !== null) details.images = images;
  for (const name of ['client', 'client_url'] as const) {
    const text = optionalText(body[name], name, problems);
    if (text !== null) details[name] = text;
  }
  return details;
}

/** An optional array of objects, each with a required string and optional strings; null when absent or wrong. */
function readObjects(value: unknown, field: string, required: string, optional: string[], problems: Problems): unknown[] | null {
  if (value === undefined || value === null) return null;
  if (!Array.isArray(value)) {
    problems.add(field, 'type', `must be an array of objects (not ${jsonType(value)})`);
    return null;
  }
  const before = problems.count;
  value.forEach((item: unknown, index) => {
    const at = `${field}.${index}`;
    if (!isRecord(item)) {
      problems.add(at, 'type', `must be an object (not ${jsonType(item)})`);
      return;
    }
    if (isBlank(item[required])) problems.add(`${at}.${required}`, 'required', 'is missing or blank');
    else if (typeof item[required] !== 'string') problems.add(`${at}.${required}`, 'type', `must be a string (not ${jsonType(item[required])})`);
    for (const name of optional) optionalText(item[name], `${at}.${name}`, problems);
  });
  return problems.count === before ? value : null;
}
