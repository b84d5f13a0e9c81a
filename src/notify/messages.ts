/**
 * What a claimed outbox row says (issue 11): its row (and the incident's, read with the
 * claim) made into the template's context, rendered for its channel. Links are signed
 * here, at send time, so they expire a TTL after the message, not after the level.
 */
import type { ChannelKind } from '../domain/notifications.ts';
import type { Severity } from '../domain/incident.ts';
import type { IncidentState } from '../domain/incident-states.ts';
import type { NotificationMessageRow } from '../db/rows.ts';
import type { MessageByKind } from './channels/channel.ts';
import { type LinkSettings, actionLink } from './links.ts';
import { type IncidentSummary, type NotificationContext, render } from './templates.ts';

/** A claimed row as notifications-claim.sql returns it. */
export interface ClaimedRow extends NotificationMessageRow {
  status: 'PENDING' | 'SKIPPED';
  throttled: boolean;
  destination_recent: number;
}

/** A digest's incidents, as notifications-digest-items.sql returns them. */
export interface DigestItems {
  total: number;
  incidents: { id: string; title: string; severity: Severity; state: IncidentState; service_name: string | null }[];
}

/** How many incidents a digest names; the rest are "N more". */
export const DIGEST_NAMED = 5;

export function incidentUrl(publicUrl: string, id: string): string {
  return `${publicUrl}/incidents/${id}`;
}

function summary(settings: LinkSettings, row: NotificationMessageRow): IncidentSummary {
  return {
    id: row.incident_id ?? '',
    title: row.incident_title ?? '',
    severity: row.incident_severity ?? 'info',
    serviceName: row.service_name,
    state: row.incident_state ?? 'ESCALATING',
    url: incidentUrl(settings.publicUrl, row.incident_id ?? ''),
  };
}

/** The link of an action; without signing keys, the incident's page (nothing to act with, but somewhere to go). */
function link(settings: LinkSettings, row: NotificationMessageRow, action: 'acknowledge' | 'resolve', now: Date): { url: string; token: string } {
  if (settings.linkKeys.length === 0 || row.incident_id === null) return { url: incidentUrl(settings.publicUrl, row.incident_id ?? ''), token: '' };
  return actionLink(settings, { incidentId: row.incident_id, userId: row.user_id, action, channel: row.channel, notificationId: row.id }, now);
}

export function contextOf(settings: LinkSettings, row: NotificationMessageRow, now: Date, digest: DigestItems | null): NotificationContext {
  const recipient = { name: row.user_name };
  const occurredAt = row.committed_at ?? row.created_at;
  const payload = row.payload;
  switch (row.type) {
    case 'escalation': {
      const paged = Array.isArray(payload.paged) ? payload.paged.filter((name): name is string => typeof name === 'string') : [];
      const others = [...paged];
      const self = others.indexOf(row.user_name);
      if (self >= 0) others.splice(self, 1);
      return {
        type: 'escalation',
        recipient,
        occurredAt,
        incident: summary(settings, row),
        level: row.level ?? 1,
        repeatCycle: typeof payload.repeat_cycle === 'number' ? payload.repeat_cycle : 0,
        othersPaged: others,
        acknowledge: link(settings, row, 'acknowledge', now),
        resolve: link(settings, row, 'resolve', now),
        replyCode: row.reply_code,
      };
    }
    case 'acknowledged':
    case 'resolved': {
      const actor = typeof payload.actor === 'string' ? payload.actor : null;
      const resolvable = row.type === 'acknowledged' && row.incident_state === 'ACKNOWLEDGED';
      return {
        type: row.type,
        recipient,
        occurredAt,
        incident: summary(settings, row),
        actor,
        ...(resolvable ? { resolve: link(settings, row, 'resolve', now) } : {}),
      };
    }
    case 'verification': {
      const expires = typeof payload.expires_at === 'string' ? Date.parse(payload.expires_at) : NaN;
      return {
        type: 'verification',
        recipient,
        occurredAt,
        code: typeof payload.code === 'string' ? payload.code : '',
        expiresInMinutes: Number.isFinite(expires) ? Math.max(1, Math.round((expires - now.getTime()) / 60_000)) : 10,
      };
    }
    case 'digest': {
      const items = digest ?? { total: 0, incidents: [] };
      const named = items.incidents.slice(0, DIGEST_NAMED).map((incident) => ({
        id: incident.id,
        title: incident.title,
        severity: incident.severity,
        serviceName: incident.service_name,
        state: incident.state,
        url: incidentUrl(settings.publicUrl, incident.id),
      }));
      return {
        type: 'digest',
        recipient,
        occurredAt,
        incidents: named,
        moreCount: Math.max(0, items.total - named.length),
        listUrl: `${settings.publicUrl}/incidents`,
      };
    }
  }
}

export function messageOf<K extends ChannelKind>(kind: K, context: NotificationContext): MessageByKind[K] {
  return render(kind, context);
}
