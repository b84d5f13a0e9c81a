/**
 * Every notification's words, for every channel, in one place (issue 11, "Templates").
 *
 * Two steps: a notification type becomes a Summary (what to say: headline, a sentence,
 * facts, actions, the SMS and the spoken text), and each channel's renderer turns a
 * Summary into its format (e-mail, Slack blocks, an Adaptive Card, ...). So wording
 * changes in one function per type, and escaping in one function per format. The
 * webhook's JSON is the exception: it is data, built from the context directly, in the
 * documented shape of WebhookBody.
 *
 * Titles, service and people's names come from users. Every one is first made plain
 * (control, format, bidi and separator characters become a space, runs of spaces one,
 * capped) and then escaped for the format: HTML for e-mail, `&`, `<`, `>` for Slack's
 * mrkdwn (so a title cannot @-mention a channel or hide a link), the markdown of
 * Adaptive Cards for Teams, XML for TwiML (in channels/twilio.ts).
 */
import type { Severity } from '../domain/incident.ts';
import type { IncidentState } from '../domain/incident-states.ts';
import type { ChannelKind, EmailMessage, InAppMessage, MessageByKind, SlackMessage, TeamsMessage, VoiceMessage, WebhookMessage } from './channels/channel.ts';
import { SLACK_ACTION_IDS } from './channels/slack.ts';

export type NotificationType = 'escalation' | 'acknowledged' | 'resolved' | 'verification' | 'digest';

export interface IncidentSummary {
  id: string;
  title: string;
  severity: Severity;
  serviceName: string | null;
  state: IncidentState;
  /** The incident's page (PUBLIC_URL + path). */
  url: string;
}

/** A signed action (src/notify/links.ts): the link for e-mail and Teams, the token for Slack's button. */
export interface ActionLink {
  url: string;
  token: string;
}

interface Common {
  recipient: { name: string };
  /** When what is told happened (the level's execution, the acknowledgement). */
  occurredAt: Date;
}

export interface EscalationContext extends Common {
  type: 'escalation';
  incident: IncidentSummary;
  level: number;
  /** 0 the first pass through the policy, 1 the first repeat, ... */
  repeatCycle: number;
  /** Everyone else this level paged, by name. */
  othersPaged: readonly string[];
  acknowledge: ActionLink;
  resolve: ActionLink;
  /** The short code an SMS reply names (`ACK 4821`); null: replies are not offered. */
  replyCode: string | null;
}

export interface StateNoticeContext extends Common {
  type: 'acknowledged' | 'resolved';
  incident: IncidentSummary;
  /** Who acted, by name; null when unknown (an API token). */
  actor: string | null;
  /** Acknowledged incidents can still be resolved from the notice. */
  resolve?: ActionLink;
}

export interface VerificationContext extends Common {
  type: 'verification';
  code: string;
  expiresInMinutes: number;
}

export interface DigestContext extends Common {
  type: 'digest';
  /** The few incidents named (the newest first, say five). */
  incidents: readonly IncidentSummary[];
  /** How many more were folded in besides those: "and 37 more incidents". */
  moreCount: number;
  /** The page listing them. */
  listUrl: string;
}

export type NotificationContext = EscalationContext | StateNoticeContext | VerificationContext | DigestContext;

/** The message of `kind` for `context`. */
export function render<K extends ChannelKind>(kind: K, context: NotificationContext): MessageByKind[K] {
  const renderers: { [C in ChannelKind]: (context: NotificationContext) => MessageByKind[C] } = {
    email: (c) => email(summarise(c)),
    sms: (c) => ({ text: summarise(c).sms }),
    voice: (c) => voice(summarise(c)),
    slack: (c) => slack(summarise(c)),
    teams: (c) => teams(summarise(c)),
    webhook: webhook,
    in_app: (c) => inApp(summarise(c)),
  };
  return renderers[kind](context);
}

/** The longest SMS we send: two segments of GSM-7 text (fewer characters fit when the text needs UCS-2). */
export const SMS_MAX = 320;

// ---------------------------------------------------------------------------------------
// What to say

interface Action {
  label: string;
  url: string;
  /** For Slack's interactive buttons; absent: a plain link. */
  act?: { name: 'acknowledge' | 'resolve'; token: string };
  style?: 'primary' | 'danger';
}

/** What a notification says, in plain text (already cleaned, not yet escaped). */
interface Summary {
  /** One line: the e-mail subject, Slack's header, the card's title. */
  headline: string;
  /** A sentence or two. */
  lead: string;
  facts: [label: string, value: string][];
  actions: Action[];
  /** Where the notification leads (the incident, the list). */
  url: string | null;
  sms: string;
  say: string;
  gather: boolean;
  severity: Severity | null;
}

function summarise(context: NotificationContext): Summary {
  switch (context.type) {
    case 'escalation':
      return escalationSummary(context);
    case 'acknowledged':
    case 'resolved':
      return noticeSummary(context);
    case 'verification':
      return verificationSummary(context);
    case 'digest':
      return digestSummary(context);
  }
}

function escalationSummary(c: EscalationContext): Summary {
  const { incident } = c;
  const title = plain(incident.title, 200);
  const severity = incident.severity.toUpperCase();
  const service = incident.serviceName === null ? null : plain(incident.serviceName, 80);
  const level = `level ${c.level}${c.repeatCycle > 0 ? `, repeat ${c.repeatCycle}` : ''}`;
  const reply = c.replyCode === null ? '' : ` Reply ACK ${c.replyCode} or RESOLVE ${c.replyCode}`;
  return {
    headline: `${severity}: ${title}`,
    lead: `${plain(c.recipient.name, 80)}, you are paged for this incident (escalation ${level}). Acknowledge it to stop the paging.`,
    facts: [
      ['Severity', incident.severity],
      ['Service', service ?? 'none'],
      ['State', incident.state],
      ['Level', level],
      ['Also paged', names(c.othersPaged)],
      ['At', c.occurredAt.toISOString()],
    ],
    actions: [
      { label: 'Acknowledge', url: c.acknowledge.url, act: { name: 'acknowledge', token: c.acknowledge.token }, style: 'primary' },
      { label: 'Resolve', url: c.resolve.url, act: { name: 'resolve', token: c.resolve.token }, style: 'danger' },
      { label: 'Open incident', url: incident.url },
    ],
    url: incident.url,
    sms: fit(`${severity} L${c.level}${service ? ` ${service}` : ''}: `, incident.title, `.${reply}`),
    say: `Klaxon page. ${incident.severity} incident: ${plain(incident.title, 200)}.${service ? ` Service ${service}.` : ''} Escalation level ${c.level}.`,
    gather: true,
    severity: incident.severity,
  };
}

function noticeSummary(c: StateNoticeContext): Summary {
  const { incident } = c;
  const title = plain(incident.title, 200);
  const done = c.type === 'acknowledged' ? 'acknowledged' : 'resolved';
  const who = c.actor === null ? 'Someone' : plain(c.actor, 80);
  const after = c.type === 'acknowledged' ? ' Paging has stopped.' : '';
  const actions: Action[] = [];
  if (c.resolve) actions.push({ label: 'Resolve', url: c.resolve.url, act: { name: 'resolve', token: c.resolve.token }, style: 'danger' });
  actions.push({ label: 'Open incident', url: incident.url });
  return {
    headline: `${done === 'acknowledged' ? 'Acknowledged' : 'Resolved'}: ${title}`,
    lead: `${who} ${done} this incident.${after}`,
    facts: [
      ['Severity', incident.severity],
      ['Service', incident.serviceName === null ? 'none' : plain(incident.serviceName, 80)],
      ['State', incident.state],
      ['By', c.actor === null ? 'unknown' : plain(c.actor, 80)],
      ['At', c.occurredAt.toISOString()],
    ],
    actions,
    url: incident.url,
    sms: fit(`${done.toUpperCase()} by ${plain(who, 40)}: `, incident.title, `.${after}`),
    say: `Klaxon notice. ${who} ${done} the ${incident.severity} incident: ${plain(incident.title, 200)}.${after}`,
    gather: false,
    severity: incident.severity,
  };
}

function verificationSummary(c: VerificationContext): Summary {
  const code = plain(c.code, 12);
  const minutes = `${c.expiresInMinutes} minute${c.expiresInMinutes === 1 ? '' : 's'}`;
  const spoken = [...code].join(', ');
  return {
    headline: `Your klaxon verification code is ${code}`,
    lead: `Enter ${code} in klaxon to confirm this contact method. The code expires in ${minutes}. If you did not ask for it, ignore this message.`,
    facts: [],
    actions: [],
    url: null,
    sms: `klaxon code: ${code}. It expires in ${minutes}. Not you? Ignore this message.`,
    say: `Your klaxon verification code is ${spoken}. Again: ${spoken}.`,
    gather: false,
    severity: null,
  };
}

function digestSummary(c: DigestContext): Summary {
  const total = c.incidents.length + c.moreCount;
  const lines = c.incidents.map((incident) => `${incident.severity.toUpperCase()}: ${plain(incident.title, 120)}`);
  const more = c.moreCount > 0 ? `and ${c.moreCount} more incident${c.moreCount === 1 ? '' : 's'}` : '';
  const first = c.incidents[0];
  return {
    headline: `${total} incidents are paging you`,
    lead: `Too many pages at once for one message each: ${[...lines, more].filter(Boolean).join('; ')}.`,
    facts: [],
    actions: [{ label: 'Open the list', url: c.listUrl }, ...c.incidents.map((incident) => ({ label: plain(incident.title, 60), url: incident.url }))].slice(
      0,
      6,
    ),
    url: c.listUrl,
    sms: first
      ? fit(`klaxon: ${total} incidents paging you, e.g. ${first.severity.toUpperCase()}: `, first.title, `; ${more || 'and others'}. ${c.listUrl}`)
      : fit(`klaxon: ${total} incidents paging you. `, '', c.listUrl),
    say: `Klaxon: ${total} incidents are paging you. Open klaxon to see them.`,
    gather: false,
    severity: null,
  };
}

// ---------------------------------------------------------------------------------------
// How each channel shows it

function email(s: Summary): EmailMessage {
  const facts = s.facts.map(([label, value]) => `${label}: ${value}`);
  const links = s.actions.map((action) => `${action.label}: ${action.url}`);
  const text = [s.headline, '', s.lead, ...(facts.length ? ['', ...facts] : []), ...(links.length ? ['', ...links] : []), ''].join('\n');
  const colour = s.severity === 'critical' || s.severity === 'error' ? '#b00020' : '#333333';
  const html = [
    '<!doctype html><html><head><meta charset="utf-8"></head><body style="font-family:sans-serif">',
    `<h2 style="color:${colour}">${escapeHtml(s.headline)}</h2>`,
    `<p>${escapeHtml(s.lead)}</p>`,
    s.facts.length
      ? `<table>${s.facts.map(([label, value]) => `<tr><th align="left">${escapeHtml(label)}</th><td>${escapeHtml(value)}</td></tr>`).join('')}</table>`
      : '',
    s.actions.length ? `<p>${s.actions.map((action) => `<a href="${escapeHtml(action.url)}">${escapeHtml(action.label)}</a>`).join(' &middot; ')}</p>` : '',
    '</body></html>',
  ].join('\n');
  return { subject: cap(s.headline, 150), text, html };
}

function voice(s: Summary): VoiceMessage {
  return { say: s.say, gather: s.gather };
}

function slack(s: Summary): SlackMessage {
  const blocks: unknown[] = [
    { type: 'header', text: { type: 'plain_text', text: cap(s.headline, 150), emoji: false } },
    // verbatim: no auto-linking of names and URLs in what users typed.
    { type: 'section', text: { type: 'mrkdwn', text: slackText(s.lead), verbatim: true } },
  ];
  if (s.facts.length) {
    blocks.push({
      type: 'section',
      fields: s.facts.slice(0, 10).map(([label, value]) => ({ type: 'mrkdwn', text: `*${slackText(label)}*\n${slackText(value)}`, verbatim: true })),
    });
  }
  if (s.actions.length) {
    blocks.push({
      type: 'actions',
      elements: s.actions.slice(0, 5).map((action, index) => ({
        type: 'button',
        text: { type: 'plain_text', text: cap(action.label, 75), emoji: false },
        ...(action.act ? { action_id: SLACK_ACTION_IDS[action.act.name], value: action.act.token } : { action_id: `klaxon_open_${index}`, url: action.url }),
        ...(action.style ? { style: action.style } : {}),
      })),
    });
  }
  return { text: slackText(s.headline), blocks };
}

function teams(s: Summary): TeamsMessage {
  const colour = s.severity === 'critical' || s.severity === 'error' ? 'Attention' : s.severity === 'warning' ? 'Warning' : 'Default';
  const body: unknown[] = [
    { type: 'TextBlock', text: teamsText(s.headline), weight: 'Bolder', size: 'Large', color: colour, wrap: true },
    { type: 'TextBlock', text: teamsText(s.lead), wrap: true },
  ];
  if (s.facts.length) body.push({ type: 'FactSet', facts: s.facts.map(([title, value]) => ({ title: teamsText(title), value: teamsText(value) })) });
  const actions = s.actions.map((action) => ({
    type: 'Action.OpenUrl',
    title: action.label,
    url: action.url,
    ...(action.style ? { style: action.style === 'primary' ? 'positive' : 'destructive' } : {}),
  }));
  return { card: { $schema: 'http://adaptivecards.io/schemas/adaptive-card.json', type: 'AdaptiveCard', version: '1.4', body, actions } };
}

function inApp(s: Summary): InAppMessage {
  return { title: s.headline, body: s.lead, url: s.url };
}

/**
 * The JSON a webhook receives. Stable: fields are added, never renamed or removed, and
 * `version` changes if that promise ever has to be broken.
 */
export type WebhookBody = { version: 1; type: NotificationType; occurred_at: string } & (
  | {
      type: 'escalation';
      incident: WebhookIncident;
      level: number;
      repeat_cycle: number;
      /** Everyone else this level paged, by name. */
      paged: string[];
      links: { acknowledge: string; resolve: string };
    }
  | { type: 'acknowledged' | 'resolved'; incident: WebhookIncident; by: string | null; links: { resolve: string | null } }
  | { type: 'verification'; code: string; expires_in_minutes: number }
  | { type: 'digest'; incidents: WebhookIncident[]; more_count: number; url: string }
);

export interface WebhookIncident {
  id: string;
  /** As the incident has it: JSON carries any text safely, so a receiver gets the exact title. */
  title: string;
  severity: Severity;
  service: string | null;
  state: IncidentState;
  url: string;
}

function webhook(c: NotificationContext): WebhookMessage {
  const occurred_at = c.occurredAt.toISOString();
  const incident = (i: IncidentSummary): WebhookIncident => ({
    id: i.id,
    title: i.title,
    severity: i.severity,
    service: i.serviceName,
    state: i.state,
    url: i.url,
  });
  let body: WebhookBody;
  switch (c.type) {
    case 'escalation':
      body = {
        version: 1,
        type: c.type,
        occurred_at,
        incident: incident(c.incident),
        level: c.level,
        repeat_cycle: c.repeatCycle,
        paged: [...c.othersPaged],
        links: { acknowledge: c.acknowledge.url, resolve: c.resolve.url },
      };
      break;
    case 'acknowledged':
    case 'resolved':
      body = { version: 1, type: c.type, occurred_at, incident: incident(c.incident), by: c.actor, links: { resolve: c.resolve?.url ?? null } };
      break;
    case 'verification':
      body = { version: 1, type: c.type, occurred_at, code: c.code, expires_in_minutes: c.expiresInMinutes };
      break;
    case 'digest':
      body = { version: 1, type: c.type, occurred_at, incidents: c.incidents.map(incident), more_count: c.moreCount, url: c.listUrl };
      break;
  }
  return { body };
}

// ---------------------------------------------------------------------------------------
// Text

/**
 * What may hide, reorder or break text: controls (newlines too: every field is one line),
 * format characters (zero-width, bidi embeddings, overrides and isolates, the BOM, tags),
 * line and paragraph separators, lone surrogates, and the tag block.
 */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\u{E0000}-\u{E007F}]/gu;

/** One line of plain text: unsafe characters made spaces, spaces collapsed, at most `max` characters. */
export function plain(text: string, max: number): string {
  return cap(text.replace(UNSAFE, ' ').replace(/\s+/g, ' ').trim(), max);
}

/** At most `max` code points (never half a surrogate pair), an ellipsis marking a cut. */
function cap(text: string, max: number): string {
  if (max <= 0) return '';
  const points = [...text];
  return points.length <= max
    ? text
    : `${points
        .slice(0, max - 1)
        .join('')
        .trimEnd()}…`;
}

/** `before + title + after` within SMS_MAX characters (UTF-16 units, what the carrier counts), the title cut to fit. */
function fit(before: string, title: string, after: string): string {
  const room = SMS_MAX - before.length - after.length;
  let middle = plain(title, room);
  while (middle.length > Math.max(room, 0)) middle = cap(middle, [...middle].length - 1); // astral characters count twice
  return `${before}${middle}${after}`.slice(0, SMS_MAX);
}

function names(list: readonly string[]): string {
  if (list.length === 0) return 'nobody else';
  const shown = list.slice(0, 5).map((name) => plain(name, 60));
  return list.length > 5 ? `${shown.join(', ')} and ${list.length - 5} more` : shown.join(', ');
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** Slack's mrkdwn escaping: only these three are control characters there (its "Formatting text" guide). */
function slackText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The markdown Adaptive Cards read in TextBlocks and facts: emphasis and links, escaped with a backslash. */
function teamsText(text: string): string {
  return text.replace(/[\\`*_[\]()~]/g, (char) => `\\${char}`);
}
