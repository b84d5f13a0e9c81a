/**
 * Notifications as the engine knows them (issue 11): the channels a person can be
 * reached on, what a notification is about, and where it stands. Declared here, the
 * lowest layer, because a policy level names channels (src/domain/policy.ts), the
 * engine writes the outbox, and src/notify/ delivers it.
 */

/** The kinds of contact method, one delivery channel each (src/notify/channels/). */
export const CHANNEL_KINDS = ['email', 'sms', 'voice', 'slack', 'teams', 'webhook', 'in_app'] as const;
export type ChannelKind = (typeof CHANNEL_KINDS)[number];

/** Channels whose address must be verified (a code sent over it, confirmed) before use: a typo must not page a stranger. */
export const VERIFIED_CHANNELS: readonly ChannelKind[] = ['sms', 'voice'];

/** What a notification is about. */
export const NOTIFICATION_TYPES = ['escalation', 'acknowledged', 'resolved', 'verification', 'digest'] as const;
export type NotificationType = (typeof NOTIFICATION_TYPES)[number];

/** PENDING until sent, failed for good, skipped (with the reason) or folded into a digest; only forward. */
export const NOTIFICATION_STATUSES = ['PENDING', 'SENT', 'FAILED', 'SKIPPED', 'FOLDED'] as const;
export type NotificationStatus = (typeof NOTIFICATION_STATUSES)[number];
