/** Contact methods, notification rules and a person's notifications as the API shows them (issue 11). */
import type { ContactMethod } from '../domain/contact-methods.ts';
import { needsVerification } from '../domain/contact-methods.ts';
import { formatDuration } from '../domain/durations.ts';
import { CHANNEL_KINDS, NOTIFICATION_STATUSES, NOTIFICATION_TYPES } from '../domain/notifications.ts';
import type { RuleWithMethod } from '../commands/notification-rules.ts';
import type { UserNotification } from '../commands/user-notifications.ts';
import { Instant, Nullable, type Static, StringEnum, Type, Uuid } from '../schema/types.ts';
import { NullableInstant, iso, timestamps } from './common.ts';

export const ContactMethodView = Type.Object(
  {
    id: Uuid(),
    user_id: Uuid(),
    kind: StringEnum(CHANNEL_KINDS),
    address: Type.String({ description: "E-mail address, E.164 number, Slack member id, https URL; '' for in_app" }),
    label: Nullable(Type.String()),
    position: Type.Integer({ description: 'The order fallbacks follow, lowest first' }),
    verified: Type.Boolean({ description: 'Usable: sms and voice numbers only once a code sent to them was confirmed' }),
    verified_at: NullableInstant(),
    verification_expires_at: Nullable(Instant({ description: 'A code was sent and may be confirmed until then' })),
    ...timestamps(),
  },
  { title: 'ContactMethod' },
);

export function presentContactMethod(method: ContactMethod): Static<typeof ContactMethodView> {
  return {
    id: method.id,
    user_id: method.userId,
    kind: method.kind,
    address: method.address,
    label: method.label,
    position: method.position,
    verified: method.verifiedAt !== null || !needsVerification(method.kind),
    verified_at: iso(method.verifiedAt),
    verification_expires_at: iso(method.verificationExpiresAt),
    created_at: iso(method.createdAt),
    updated_at: iso(method.updatedAt),
  };
}

export const NotificationRuleView = Type.Object(
  {
    id: Uuid(),
    user_id: Uuid(),
    contact_method_id: Uuid(),
    contact_method_kind: StringEnum(CHANNEL_KINDS),
    delay: Type.String({ examples: ['0s', '5m'] }),
    delay_ms: Type.Integer(),
    created_at: Instant(),
  },
  { title: 'NotificationRule' },
);

export function presentNotificationRule(rule: RuleWithMethod): Static<typeof NotificationRuleView> {
  return {
    id: rule.id,
    user_id: rule.userId,
    contact_method_id: rule.contactMethodId,
    contact_method_kind: rule.contactMethodKind,
    delay: rule.delayMs === 0 ? '0s' : formatDuration(rule.delayMs),
    delay_ms: rule.delayMs,
    created_at: iso(rule.createdAt),
  };
}

export const UserNotificationView = Type.Object(
  {
    id: Uuid(),
    type: StringEnum(NOTIFICATION_TYPES),
    channel: StringEnum(CHANNEL_KINDS),
    status: StringEnum(NOTIFICATION_STATUSES),
    incident_id: Nullable(Uuid()),
    incident_title: Nullable(Type.String({ description: 'The incident it is about (null: a verification code)' })),
    level: Nullable(Type.Integer({ description: 'The level that paged (escalation notifications)' })),
    contact_method_id: Uuid(),
    reason: Nullable(Type.String({ description: 'Why it was skipped, folded or failed' })),
    created_at: Instant(),
    sent_at: NullableInstant(),
    read_at: Nullable(Instant({ description: 'in_app: when it was marked read' })),
  },
  { title: 'UserNotification' },
);

export function presentUserNotification(n: UserNotification): Static<typeof UserNotificationView> {
  return {
    id: n.id,
    type: n.type,
    channel: n.channel,
    status: n.status,
    incident_id: n.incidentId,
    incident_title: n.incidentTitle,
    level: n.level,
    contact_method_id: n.contactMethodId,
    reason: n.reason,
    created_at: iso(n.createdAt),
    sent_at: iso(n.sentAt),
    read_at: iso(n.readAt),
  };
}
