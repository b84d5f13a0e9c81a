import type { IncidentState } from './incident-states.ts';

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
}

export const EscalationStatus = {
  PENDING: 'PENDING',
  EXECUTED: 'EXECUTED',
  CANCELLED: 'CANCELLED',
} as const;
export type EscalationStatus = (typeof EscalationStatus)[keyof typeof EscalationStatus];

export interface Escalation {
  id: string;
  incidentId: string;
  level: number;
  repeatCycle: number;
  status: EscalationStatus;
  scheduledAt: Date;
  executedAt: Date | null;
  cancelledAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface IncidentEvent {
  id: string;
  incidentId: string;
  kind: string;
  fromState: IncidentState | null;
  toState: IncidentState | null;
  actor: string | null;
  note: string | null;
  occurredAt: Date;
  details: Record<string, unknown>;
}
