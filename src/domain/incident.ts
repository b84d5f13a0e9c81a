import type { IncidentState } from './incident-states.ts';
import type { PolicySnapshot } from './policy.ts';

export const SEVERITIES = ['critical', 'error', 'warning', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface Incident {
  id: string;
  title: string;
  description: string | null;
  severity: Severity;
  state: IncidentState;
  currentEscalationLevel: number;
  createdAt: Date;
  updatedAt: Date;
  acknowledgedAt: Date | null;
  resolvedAt: Date | null;
  cancelledAt: Date | null;
  version: number;
  serviceId: string | null;
  /** The owning team (its service's); null: organisation-wide. */
  teamId: string | null;
  /** The policy frozen when the incident started escalating; null before that. */
  policy: PolicySnapshot | null;
  /** Who is on the hook now: the people the last executed level (or a reassignment) named. */
  assignees: Assignee[];
  snoozedUntil: Date | null;
  /** Opened by an alert (issue 12): its dedup key, or the service's alert storm; null: opened by hand. */
  alert: IncidentAlert | null;
}

/** The alert behind an incident, and how often it came. */
export interface IncidentAlert {
  /** Null for the storm incident. */
  dedupKey: string | null;
  storm: boolean;
  /** Triggers received: the one that opened it, its repeats, and for a storm the alerts folded into it. */
  count: number;
  lastSeenAt: Date | null;
}

export interface Assignee {
  user_id: string;
  name: string;
  /** How they were reached: the target that named them, or a reassignment. */
  via: { type: 'user' | 'schedule' | 'team' | 'reassignment'; id: string | null };
}

export const EscalationStatus = {
  PENDING: 'PENDING',
  EXECUTED: 'EXECUTED',
  CANCELLED: 'CANCELLED',
} as const;
export type EscalationStatus = (typeof EscalationStatus)[keyof typeof EscalationStatus];

/** Why an escalation row exists. */
export type EscalationTrigger = 'timetable' | 'snooze_end' | 'manual';

export interface Escalation {
  id: string;
  incidentId: string;
  level: number;
  repeatCycle: number;
  status: EscalationStatus;
  trigger: EscalationTrigger;
  scheduledAt: Date;
  executedAt: Date | null;
  cancelledAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}
