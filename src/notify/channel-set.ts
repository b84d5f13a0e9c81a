/**
 * The channels a notifier sends through, built from the configuration (issue 11). A
 * channel whose provider is not configured (no SMTP_URL, no Twilio account, no Slack bot
 * token, no webhook secret) is absent: its notifications fail at once as permanent
 * ('not configured'), and the person's next contact method is tried. Tests inject a set
 * of their own (stand-ins, or channels that answer as scripted).
 */
import type { Clock } from '../clock/clock.ts';
import type { Config } from '../config/config.ts';
import type { ChannelKind } from '../domain/notifications.ts';
import type { Channel } from './channels/channel.ts';
import { createEmailChannel } from './channels/email.ts';
import { createInAppChannel } from './channels/in-app.ts';
import { createSlackChannel } from './channels/slack.ts';
import { createTeamsChannel } from './channels/teams.ts';
import { createTwilioSmsChannel, createTwilioVoiceChannel } from './channels/twilio.ts';
import { createWebhookChannel } from './channels/webhook.ts';
import { twilioUrls } from './links.ts';

export type ChannelSet = Partial<{ [K in ChannelKind]: Channel<K> }>;

export function channelsFromConfig(notify: Config['notify'], clock: Clock): ChannelSet {
  const set: ChannelSet = { in_app: createInAppChannel(), teams: createTeamsChannel({ clock }) };
  if (notify.smtpUrl) {
    const url = new URL(notify.smtpUrl);
    const secure = url.protocol === 'smtps:';
    set.email = createEmailChannel({
      host: url.hostname,
      port: url.port ? Number(url.port) : secure ? 465 : 25,
      secure,
      ...(url.username ? { auth: { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } } : {}),
      from: notify.emailFrom,
    });
  }
  const { twilio } = notify;
  if (twilio.accountSid && twilio.authToken && twilio.fromNumber) {
    const urls = twilioUrls(notify);
    const options = {
      accountSid: twilio.accountSid,
      authToken: twilio.authToken,
      from: twilio.fromNumber,
      clock,
      baseUrl: twilio.baseUrl,
      statusCallbackUrl: urls.status,
    };
    set.sms = createTwilioSmsChannel(options);
    set.voice = createTwilioVoiceChannel({ ...options, gatherActionUrl: urls.gather, twimlUrl: urls.twiml });
  }
  if (notify.slack.botToken) set.slack = createSlackChannel({ botToken: notify.slack.botToken, clock, apiBaseUrl: notify.slack.apiUrl });
  if (notify.webhookSecret) set.webhook = createWebhookChannel({ secrets: [notify.webhookSecret], clock });
  return set;
}

export async function closeChannels(set: ChannelSet): Promise<void> {
  await Promise.all(Object.values(set).map((channel: { close?: () => Promise<void> }) => (channel.close ? channel.close() : Promise.resolve())));
}
