/**
 * The incident events: every kind the engine writes to an incident's audit log, with
 * the shape of its `details`, declared once. Commands, the executor and (soon) the
 * notifier and alert intake write them through appendEvents (src/db/events.ts), which
 * takes only these shapes; the OpenAPI document lists the kinds as an enum
 * (src/presenters/incidents.ts). A new kind is added here first.
 */
import type { AlertSource } from './alerts/event.ts';
import type { Severity } from './incident.ts';
import type { IncidentState } from './incident-states.ts';
import type { ChannelKind } from './notifications.ts';
import type { TargetType } from './policy.ts';

/** A person a level paged, and the target that named them. */
export interface PagedUser {
  user_id: string;
  name: string;
  via: { type: TargetType | 'reassignment'; id: string | null };
}

/** What a state change did to the timetable. */
export interface TransitionDetails {
  /** Entering ESCALATING: the first level scheduled. */
  scheduled?: { escalation_id: string; level: number; due_at: string };
  /** Leaving OPEN or ESCALATING (or ending a snooze): the pending escalations cancelled. */
  cancelled_escalations?: string[];
  /** Done from a notification (a signed link, a Slack button, an SMS reply, a key press): who, through which channel. */
  via?: ActedVia;
  /** Done by an alert (an acknowledge or resolve event, an alert that ended): which one, through which key. */
  alert?: AlertOrigin;
}

/** The alert behind an event (issue 12): how it came, through which integration key, with which dedup key. */
export interface AlertOrigin {
  source: AlertSource;
  integration_key_id: string;
  /** Null for the storm incident, which many alerts fold into. */
  dedup_key: string | null;
  /** The service's alert storm incident, opened when more alerts came in a minute than the storm threshold. */
  storm?: true;
}

/** A person acting from a message they were sent (issue 11, "Acknowledge from the message"). */
export interface ActedVia {
  /** The channel the person acted through (email and teams: the link's confirmation page). */
  channel: ChannelKind;
  user_id: string;
  /** The notification that carried the link, button, code or call; null when the link named none. */
  notification_id: string | null;
  /** Slack: the member id of who pressed the button. */
  slack_user_id?: string;
}

export interface EventDetails {
  /** The incident was opened (from null to OPEN). */
  opened: { severity: Severity; service_id: string | null; alert?: AlertOrigin };
  escalation_started: TransitionDetails;
  acknowledged: TransitionDetails;
  resolved: TransitionDetails;
  cancelled: TransitionDetails;
  /** Someone paged the next level now (POST /incidents/:id/escalate on an ESCALATING incident). */
  escalated_manually: { from_level: number | undefined; level: number; escalation_id: string };
  /** Reassigned to a user (put on the hook), or to a level (paged now, in a new pass through the levels). */
  reassigned: { to_user: { id: string; name: string } } | { to_level: number; repeat_cycle: number; escalation_id: string };
  /** Acknowledged incident snoozed until `until`, when it escalates again from level 1. */
  snoozed: { until: Date; duration_ms: number; escalation_id: string };
  /**
   * A level executed: whom it paged (empty: nobody, and the escalation moved on), and
   * what is next. Its instants are ISO 8601 strings, as stored: the worker writes one
   * per execution, and JSON.stringify takes its slow path for every Date (about 2 µs
   * each, measured), where a string costs nothing more.
   */
  escalated: {
    escalation_id: string;
    level: number;
    repeat_cycle: number;
    trigger: 'timetable' | 'snooze_end' | 'manual';
    scheduled_at: string;
    lateness_ms: number;
    targets: unknown;
    paged: PagedUser[];
    nobody: boolean;
    next: { escalation_id: string; due_at: string } | null;
  };
  /** A snooze ended: the incident escalates again (from ACKNOWLEDGED to ESCALATING). */
  snooze_ended: { escalation_id: string };
  /** The last level (and its repeats) executed: nothing more is scheduled. */
  escalation_exhausted: { last_level: number; repeat_cycle: number };
  /**
   * Every contact method of a person failed for one page (retries spent or a permanent
   * refusal on each, fallbacks included): nobody reached them. The escalation was not
   * held back by it (its next level runs on time); this says the page did not land.
   */
  notification_failed: {
    user_id: string;
    escalation_id: string | null;
    level: number | null;
    /** The last notification of the chain, and each method that was tried, with why it failed. */
    notification_id: string;
    failed: { notification_id: string; channel: string; destination: string; reason: string | null }[];
  };
}

export type EventKind = keyof EventDetails;

/** Every kind, in the order an incident's life meets them. */
export const EVENT_KINDS = [
  'opened',
  'escalation_started',
  'escalated',
  'escalated_manually',
  'reassigned',
  'acknowledged',
  'snoozed',
  'snooze_ended',
  'escalation_exhausted',
  'notification_failed',
  'resolved',
  'cancelled',
] as const satisfies readonly EventKind[];

// Every kind of EventDetails is listed above (a kind added there and not here fails to compile).
type Unlisted = Exclude<EventKind, (typeof EVENT_KINDS)[number]>;
const allListed: Unlisted extends never ? true : never = true;
void allListed;

/** An event to append: its kind, the state change (from = to when none), who acted, and its details. */
export type NewEvent = {
  [K in EventKind]: {
    incidentId: string;
    kind: K;
    from: IncidentState | null;
    to: IncidentState;
    details: EventDetails[K];
    occurredAt: Date;
    /** Free text: a person's name, a tool; null for the engine's own events. */
    actor?: string | null | undefined;
    note?: string | null | undefined;
    /** The API token that acted (null: the worker, the CLI). */
    tokenId?: string | null | undefined;
  };
}[EventKind];

/** An event as the audit log holds it. */
export interface IncidentEvent {
  id: string;
  incidentId: string;
  kind: EventKind;
  fromState: IncidentState | null;
  toState: IncidentState | null;
  actor: string | null;
  note: string | null;
  occurredAt: Date;
  details: Record<string, unknown>;
}
