/**
 * An alert as intake acts on it, whatever protocol brought it (issue 12): the Events API
 * v2 (src/domain/alerts/events-v2.ts), an Alertmanager webhook and a Grafana alerting
 * webhook (alertmanager.ts, grafana.ts) are each read into these, and
 * src/commands/intake.ts acts on them. Pure shapes: no I/O.
 */
import type { FieldIssue } from '../errors.ts';
import type { Severity } from '../incident.ts';

export const ALERT_SOURCES = ['events_v2', 'alertmanager', 'grafana'] as const;
export type AlertSource = (typeof ALERT_SOURCES)[number];

export const ALERT_ACTIONS = ['trigger', 'acknowledge', 'resolve'] as const;
export type AlertAction = (typeof ALERT_ACTIONS)[number];

/** What became of an event (alert_log.outcome). */
export const ALERT_OUTCOMES = ['opened', 'deduplicated', 'folded', 'acknowledged', 'resolved', 'ignored', 'invalid'] as const;
export type AlertOutcome = (typeof ALERT_OUTCOMES)[number];

/** The Events API's bound on dedup_key (and incidents.dedup_key's CHECK). */
export const MAX_DEDUP_KEY_LENGTH = 255;
/** The Events API's bound on a whole event: larger bodies are refused with 413. */
export const MAX_EVENT_BYTES = 512 * 1024;

interface AlertEventBase {
  /**
   * The key the alert is deduplicated by. Null only on an Events API trigger that sent
   * none: intake makes one (and answers it).
   */
  dedupKey: string | null;
  /**
   * The part of the payload this event was read from, kept as sent in the alert log: the
   * whole Events API body (its routing key cut out), or one alert of a webhook with its
   * group's fields beside it.
   */
  raw: unknown;
  /**
   * Whether a trigger for a closed incident with this key opens a new one. The Events
   * API says yes (a trigger after a resolve is a new problem). For Alertmanager and
   * Grafana the key carries the alert's start (`startsAt`): the same key again is the
   * same occurrence re-sent (Alertmanager repeats firing alerts every repeat_interval),
   * and opening it again after someone resolved it would page for what they closed.
   */
  reopens: boolean;
}

export interface TriggerEvent extends AlertEventBase {
  action: 'trigger';
  /** The incident's title (at most 500 characters: cut with an ellipsis). */
  summary: string;
  /** The incident's description, if the protocol carries one (annotations.description). */
  description: string | null;
  /** Where the alert comes from (a host, a job): Events API payload.source. */
  source: string;
  severity: Severity;
  /** When the monitoring says the problem started; null: not said. */
  timestamp: Date | null;
  /** What else the alert said, as sent: component, group, class, custom_details, links, images; labels, annotations, URLs. */
  details: Record<string, unknown>;
}

export interface ActionEvent extends AlertEventBase {
  action: 'acknowledge' | 'resolve';
  dedupKey: string;
}

export type AlertEvent = TriggerEvent | ActionEvent;

/** A payload read into the events it carries, or why it cannot be (each problem naming its field, e.g. `alerts.3.status`, and rule). */
export type ParsedAlerts = { ok: true; events: AlertEvent[] } | { ok: false; errors: FieldIssue[] };
