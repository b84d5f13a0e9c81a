/**
 * Acknowledge and resolve from the message (issue 11): what people and providers send
 * back. Every one of these endpoints is public (no API token): the credential is the
 * signed action token (src/notify/links.ts), Slack's request signature plus the Slack
 * member mapped to a person, or Twilio's request signature plus the notification a reply
 * code or a call belongs to. Public requests take from the client address's rate-limit
 * bucket (src/api/admission.ts).
 *
 * - `GET /actions?token=` shows a confirmation page and changes nothing (mail scanners
 *   and link previewers fetch links); its form POSTs to the same URL, which acts. The
 *   token rides in the query, not the path: the access and audit logs record paths.
 * - `POST /integrations/slack/interactions`: a button press; acts as the Slack member who
 *   pressed it (mapped through their slack contact method), then updates the message
 *   ("Acknowledged by Alice") with chat.update, or through the press's response_url.
 * - `POST /integrations/twilio/sms`: `ACK 4821` / `RESOLVE 4821` from the number paged.
 * - `POST /integrations/twilio/voice/:notificationId` (the call's TwiML, re-checked when
 *   answered) and `.../gather` (the key press: 1 acknowledge, 2 resolve).
 * - `POST /integrations/twilio/status`: delivery receipts.
 *
 * Acting goes through actFromMessage (idempotent: acting again says who already did);
 * the incident event names the person and the channel (details.via), and the audit row,
 * committed in the same transaction, has no token and names the person and channel in
 * its actor. A bad provider signature is a 403 that says nothing more; an invalid link
 * is a 404 that says nothing more; an expired one a 410 that says so.
 */
import { createHash } from 'node:crypto';
import type Koa from 'koa';
import {
  type CallFacts,
  type MessageActionInput,
  type MessageActionOutcome,
  type StopFact,
  actFromMessage,
  actionPreview,
  callFacts,
  recordDeliveryReceipt,
  serviceName,
  slackMember,
  smsReplyTarget,
} from '../../commands/act-from-message.ts';
import { type CommitHook, withCommitHook } from '../../db/transaction.ts';
import { NotFoundError } from '../../domain/errors.ts';
import type { Incident } from '../../domain/incident.ts';
import type { IncidentState } from '../../domain/incident-states.ts';
import { post } from '../../notify/channels/http.ts';
import { createSlackChannel, parseSlackInteraction, type SlackButtonPress, verifySlackSignature } from '../../notify/channels/slack.ts';
import {
  parseSmsReply,
  parseTwilioStatusCallback,
  parseVoiceDigits,
  smsReplyTwiml,
  verifyTwilioSignature,
  voiceAnswerTwiml,
  voiceCallTwiml,
} from '../../notify/channels/twilio.ts';
import type { SlackMessage } from '../../notify/channels/channel.ts';
import { type ActionName, type VerifiedAction, INBOUND_PATHS, actionKeysFrom, actionLink, twilioUrls, verifyAction } from '../../notify/links.ts';
import { DIGEST_NAMED, contextOf, messageOf } from '../../notify/messages.ts';
import { type IncidentSummary, plain, render } from '../../notify/templates.ts';
import { Type, Uuid } from '../../schema/types.ts';
import type { AppDeps } from '../deps.ts';
import { type Endpoint, endpoint } from '../endpoint.ts';
import { readFormBody } from '../form-body.ts';
import { HttpProblem, PageProblem } from '../problem.ts';

const TAG = 'inbound';

const TokenQuery = Type.Object(
  {
    token: Type.String({ minLength: 1, maxLength: 1000, pattern: '^[A-Za-z0-9_.-]+$', description: 'The signed action token of the link' }),
  },
  { additionalProperties: false },
);

const StatusQuery = Type.Object(
  { notification: Type.Optional(Uuid({ description: 'The notification the callback is about (set in the StatusCallback URL klaxon gives)' })) },
  { additionalProperties: false },
);

const Html = Type.String({ description: 'An HTML page' });
const TwiML = Type.String({ description: 'TwiML' });
const SlackAck = Type.Object({ ok: Type.Boolean() }, { additionalProperties: false });

/** How long a Slack follow-up (the message update, an ephemeral reply) may take: Slack wants its 200 within 3 s. */
const SLACK_FOLLOW_UP_MS = 2_000;

export const inboundEndpoints: Endpoint[] = [
  endpoint({
    method: 'GET',
    path: INBOUND_PATHS.actions,
    tag: TAG,
    summary: "An action link's confirmation page (acknowledge or resolve as the person it was sent to); changes nothing",
    scope: 'public',
    query: TokenQuery,
    problems: [404, 410],
    response: { status: 200, schema: Html, mediaType: 'text/html; charset=utf-8' },
    handler: async ({ query, ctx }, deps) => {
      const grant = verifiedLink(query.token, deps);
      const preview = await actionPreview(deps, grant);
      if (!preview) throw invalidLink();
      securePage(ctx);
      return confirmationPage(grant, preview.incident, preview.userName, preview.nothingToDo ? stopText(preview.stoppedBy, preview.incident.state) : null);
    },
  }),
  endpoint({
    method: 'POST',
    path: INBOUND_PATHS.actions,
    tag: TAG,
    summary: 'Acknowledge or resolve through an action link, as the person it was sent to; idempotent',
    scope: 'public',
    query: TokenQuery,
    problems: [404, 410],
    response: { status: 200, schema: Html, mediaType: 'text/html; charset=utf-8' },
    handler: async ({ query, ctx }, deps) => {
      const grant = verifiedLink(query.token, deps);
      const outcome = await actAudited(ctx, deps, {
        incidentId: grant.incidentId,
        userId: grant.userId,
        action: grant.action,
        via: { channel: grant.channel, notification_id: grant.notificationId },
      }).catch((error: unknown) => {
        // The incident or the person is gone: the link names nothing any more.
        throw error instanceof NotFoundError ? invalidLink() : error;
      });
      securePage(ctx);
      return resultPage(grant.action, outcome);
    },
  }),
  endpoint({
    method: 'POST',
    path: INBOUND_PATHS.slackInteractions,
    tag: TAG,
    summary: "Slack's interactivity requests (form-encoded, signed by Slack): the Acknowledge and Resolve buttons",
    scope: 'public',
    problems: [403, 413, 415],
    response: { status: 200, schema: SlackAck },
    handler: async ({ ctx }, deps) => {
      const { raw } = await readFormBody(ctx, deps.bodyLimitBytes);
      const secret = deps.notify.slack.signingSecret;
      const nowMs = deps.clock.now().getTime();
      const check = secret
        ? verifySlackSignature(secret, ctx.get('x-slack-request-timestamp'), raw, ctx.get('x-slack-signature'), nowMs)
        : ({ ok: false, reason: 'missing' } as const);
      if (!check.ok) throw signatureRefused(deps, 'slack', check.reason);
      const press = parseSlackInteraction(raw);
      // Another interaction (a link button's click, another app's payload): nothing to do.
      if (!press) return { ok: true };
      await answerSlackPress(ctx, deps, press);
      return { ok: true };
    },
  }),
  endpoint({
    method: 'POST',
    path: INBOUND_PATHS.twilioSms,
    tag: TAG,
    summary: 'Inbound SMS (Twilio webhook, signed): ACK <code> or RESOLVE <code> from the number paged; answers TwiML',
    scope: 'public',
    problems: [403, 413, 415],
    response: { status: 200, schema: TwiML, mediaType: 'text/xml; charset=utf-8' },
    handler: async ({ ctx }, deps) => {
      const form = await signedTwilioForm(ctx, deps);
      const reply = parseSmsReply(form.get('Body') ?? '');
      if (!reply) return smsReplyTwiml('klaxon: reply ACK <code> to acknowledge or RESOLVE <code> to resolve, with the code of the page (e.g. ACK 4821).');
      const notification = await smsReplyTarget(deps, reply.code, form.get('From') ?? '');
      if (!notification) return smsReplyTwiml(`klaxon: no page with code ${reply.code} was sent to this number. Check the code in the page you got.`);
      const outcome = await actAudited(ctx, deps, {
        incidentId: notification.incidentId,
        userId: notification.userId,
        action: reply.action,
        via: { channel: 'sms', notification_id: notification.notificationId },
      });
      const title = plain(outcome.incident.title, 80);
      return smsReplyTwiml(
        outcome.changed
          ? `klaxon: ${reply.action === 'acknowledge' ? 'acknowledged' : 'resolved'} "${title}" as ${plain(outcome.actor.name, 40)}.${reply.action === 'acknowledge' ? ' Paging has stopped.' : ''}`
          : `klaxon: "${title}": ${stopText(outcome.stoppedBy, outcome.incident.state)}`,
      );
    },
  }),
  endpoint({
    method: 'POST',
    path: `${INBOUND_PATHS.twilioVoice}/:notificationId`,
    tag: TAG,
    summary: "A page by phone, answered (Twilio webhook, signed): the call's TwiML, saying the incident as it is now",
    scope: 'public',
    problems: [403, 413, 415],
    response: { status: 200, schema: TwiML, mediaType: 'text/xml; charset=utf-8' },
    handler: async ({ params, ctx }, deps) => {
      await signedTwilioForm(ctx, deps);
      const call = await callFacts(deps, params.notificationId, DIGEST_NAMED);
      if (!call) return voiceCallTwiml('This klaxon call is about nothing klaxon knows. Goodbye.', null);
      return callTwiml(deps, call);
    },
  }),
  endpoint({
    method: 'POST',
    path: `${INBOUND_PATHS.twilioVoice}/:notificationId/gather`,
    tag: TAG,
    summary: 'A key press during a page by phone (Twilio webhook, signed): 1 acknowledges, 2 resolves; answers TwiML',
    scope: 'public',
    problems: [403, 413, 415],
    response: { status: 200, schema: TwiML, mediaType: 'text/xml; charset=utf-8' },
    handler: async ({ params, ctx }, deps) => {
      const form = await signedTwilioForm(ctx, deps);
      const call = (await callFacts(deps, params.notificationId, DIGEST_NAMED))?.row;
      const callSid = form.get('CallSid');
      // The call must be the one placed for this notification (once its SID is known), and a page.
      if (!call?.incident_id || call.type !== 'escalation' || (call.provider_message_id && callSid && call.provider_message_id !== callSid)) {
        return voiceAnswerTwiml({ kind: 'unchanged', say: 'This call cannot act on any incident. Goodbye.' });
      }
      const action = parseVoiceDigits(form.get('Digits'));
      if (!action) return voiceAnswerTwiml({ kind: 'invalid', gatherActionUrl: twilioUrls(deps.notify).gather(call.id) });
      const outcome = await actAudited(ctx, deps, {
        incidentId: call.incident_id,
        userId: call.user_id,
        action,
        via: { channel: 'voice', notification_id: call.id },
      });
      if (outcome.changed) return voiceAnswerTwiml({ kind: 'acted', action });
      return voiceAnswerTwiml({ kind: 'unchanged', say: stopText(outcome.stoppedBy, outcome.incident.state, { time: false }) });
    },
  }),
  endpoint({
    method: 'POST',
    path: INBOUND_PATHS.twilioStatus,
    tag: TAG,
    summary: 'Delivery receipts (Twilio status callbacks, signed) of SMS and calls: recorded, never changing what was sent',
    scope: 'public',
    query: StatusQuery,
    problems: [403, 413, 415],
    response: { status: 204 },
    handler: async ({ query, ctx }, deps) => {
      const form = await signedTwilioForm(ctx, deps);
      const status = parseTwilioStatusCallback(form);
      if (!status) return;
      await recordDeliveryReceipt(deps, {
        notificationId: query.notification ?? null,
        providerMessageId: status.sid,
        status: status.status,
        reached: status.reached,
        details: { kind: status.kind, final: status.final, reached: status.reached, error_code: status.errorCode },
      });
    },
  }),
];

// Acting, audited --------------------------------------------------------------------------

/**
 * The action, with its audit row committed in the same transaction: no token (the person
 * acted through a message), the actor naming the person, the channel and the notification.
 */
async function actAudited(ctx: Koa.Context, deps: AppDeps, input: Omit<MessageActionInput, 'onActor'>): Promise<MessageActionOutcome> {
  let actor: { id: string; name: string } | undefined;
  const hook: CommitHook = {
    committed: false,
    rows: () =>
      actor
        ? [
            deps.audit.rowFor(
              ctx,
              {
                tokenId: null,
                // `user <id> via <channel> (notification <id>): <name>`, the name last so the cap cuts only it.
                actor:
                  `user ${actor.id} via ${input.via.channel}${input.via.notification_id ? ` (notification ${input.via.notification_id})` : ''}: ${actor.name}`.slice(
                    0,
                    300,
                  ),
                teamId: null,
              },
              200,
            ),
          ]
        : [],
  };
  return withCommitHook(hook, () =>
    actFromMessage(deps, {
      ...input,
      onActor: (who) => {
        actor = who;
      },
    }),
  );
}

/** "Already acknowledged by Alice at 2026-03-01T09:05:00.000Z." (without the time: to be spoken). */
function stopText(stopped: StopFact | null, state: IncidentState, { time = true } = {}): string {
  if (!stopped) return `Nothing to do: it is already ${state.toLowerCase()}.`;
  const by = stopped.by === null ? 'someone' : plain(stopped.by, 80);
  return `Already ${stopped.kind} by ${by}${time ? ` at ${stopped.at.toISOString()}` : ''}.`;
}

// Action links -----------------------------------------------------------------------------

/** The grant a link's token carries; a 404 page (nothing said about why) or a 410 page (expired) otherwise. */
function verifiedLink(token: string, deps: AppDeps): VerifiedAction {
  if (deps.notify.linkKeys.length === 0) throw invalidLink();
  const verified = verifyAction(token, { keys: actionKeysFrom(deps.notify.linkKeys), now: deps.clock.now() });
  if ('refused' in verified) {
    if (verified.refused === 'expired') {
      const detail = 'this link has expired; open klaxon to act on the incident';
      throw new PageProblem(
        410,
        'link_expired',
        'Link expired',
        detail,
        page('Link expired', `<p>This link has expired. Open klaxon to act on the incident.</p>`),
        PAGE_HEADERS,
      );
    }
    deps.logger.info('action link refused', { reason: verified.refused });
    throw invalidLink();
  }
  return verified;
}

function invalidLink(): PageProblem {
  return new PageProblem(404, 'link_invalid', 'Not found', 'this link is not valid', page('Link not valid', '<p>This link is not valid.</p>'), PAGE_HEADERS);
}

/** The pages' only style; the CSP names its hash, so nothing else can be injected and styled or run. */
const STYLE =
  'body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#222}' +
  'th,td{text-align:left;padding:.1rem 1rem .1rem 0;vertical-align:top}' +
  'button{font:inherit;margin-top:1rem;padding:.6rem 1.4rem;border:0;border-radius:4px;color:#fff;background:#06c;cursor:pointer}' +
  'button.resolve{background:#b00020}';

/**
 * No script, no frame, nothing fetched; the form may post only to this origin; and no
 * Referer leaves the page (its URL holds the token).
 */
const PAGE_HEADERS = {
  'Content-Security-Policy': [
    "default-src 'none'",
    `style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`,
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join('; '),
  'Referrer-Policy': 'no-referrer',
};

function securePage(ctx: Koa.Context): void {
  ctx.set(PAGE_HEADERS);
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex">
<title>${escapeHtml(title)} - klaxon</title><style>${STYLE}</style></head><body>
<h1>${escapeHtml(title)}</h1>
${body}
</body></html>
`;
}

const VERB = { acknowledge: 'Acknowledge', resolve: 'Resolve' } as const;

function facts(incident: Incident): string {
  const rows: [string, string][] = [
    ['Incident', incident.title],
    ['Severity', incident.severity],
    ['State', incident.state],
  ];
  return `<table>${rows.map(([label, value]) => `<tr><th>${escapeHtml(label)}</th><td>${escapeHtml(plain(value, 500))}</td></tr>`).join('')}</table>`;
}

/** The GET: what the button will do, as whom; or why there is nothing to do. No state change. */
function confirmationPage(grant: VerifiedAction, incident: Incident, name: string, nothingToDo: string | null): string {
  const verb = VERB[grant.action];
  if (nothingToDo !== null) return page(`Nothing to ${grant.action}`, `${facts(incident)}<p>${escapeHtml(nothingToDo)}</p>`);
  // No action: the form posts to this very URL, token included (a GET form would drop the query; this is POST).
  return page(
    `${verb} this incident?`,
    `<p>${escapeHtml(plain(name, 200))}, you are about to ${grant.action} this incident as yourself (through ${escapeHtml(grant.channel)}).</p>
${facts(incident)}
<form method="post"><button type="submit" class="${grant.action}">${verb}</button></form>
<p><small>This link works until ${escapeHtml(grant.expiresAt.toISOString())}.</small></p>`,
  );
}

/** The POST's answer. */
function resultPage(action: ActionName, outcome: MessageActionOutcome): string {
  if (!outcome.changed)
    return page(`Nothing to ${action}`, `${facts(outcome.incident)}<p>${escapeHtml(stopText(outcome.stoppedBy, outcome.incident.state))}</p>`);
  const done = action === 'acknowledge' ? 'Acknowledged' : 'Resolved';
  const after = action === 'acknowledge' ? ' Paging has stopped.' : '';
  return page(done, `${facts(outcome.incident)}<p>${escapeHtml(`${done} by ${plain(outcome.actor.name, 200)}.${after}`)}</p>`);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

// Slack -------------------------------------------------------------------------------------

async function answerSlackPress(ctx: Koa.Context, deps: AppDeps, press: SlackButtonPress): Promise<void> {
  const now = deps.clock.now();
  const grant =
    deps.notify.linkKeys.length === 0
      ? { refused: 'unknown_key' as const }
      : verifyAction(press.token, { keys: actionKeysFrom(deps.notify.linkKeys), now, expectAction: press.action });
  if ('refused' in grant) {
    deps.logger.info('slack button refused', { reason: grant.refused });
    await slackEphemeral(
      deps,
      press,
      grant.refused === 'expired'
        ? 'This button has expired. Open klaxon to act on the incident.'
        : 'This button does not work. Open klaxon to act on the incident.',
    );
    return;
  }
  const member = await slackMember(deps, press.slackUserId);
  if (!member) {
    await slackEphemeral(
      deps,
      press,
      `Your Slack account (member id ${press.slackUserId}) is not linked to anyone in klaxon, so klaxon cannot tell who is acting. Add it as a Slack contact method of yours in klaxon, then press again.`,
    );
    return;
  }
  const outcome = await actAudited(ctx, deps, {
    incidentId: grant.incidentId,
    userId: member.userId,
    action: press.action,
    via: { channel: 'slack', notification_id: grant.notificationId, slack_user_id: press.slackUserId },
  });
  if (!outcome.changed) {
    await slackEphemeral(deps, press, stopText(outcome.stoppedBy, outcome.incident.state));
    return;
  }
  await slackUpdate(deps, press, await slackNotice(deps, outcome.incident, outcome.actor, grant, now));
}

/** The message as it reads once someone acted: the notice ("Alice acknowledged this incident"), with Resolve while it is only acknowledged. */
async function slackNotice(deps: AppDeps, incident: Incident, actor: { id: string; name: string }, grant: VerifiedAction, now: Date): Promise<SlackMessage> {
  const acknowledged = incident.state === 'ACKNOWLEDGED';
  const resolve = acknowledged
    ? actionLink(deps.notify, { incidentId: incident.id, userId: actor.id, action: 'resolve', channel: 'slack', notificationId: grant.notificationId }, now)
    : undefined;
  return render('slack', {
    type: acknowledged ? 'acknowledged' : 'resolved',
    recipient: { name: actor.name },
    occurredAt: now,
    incident: await summary(deps, incident),
    actor: actor.name,
    ...(resolve ? { resolve } : {}),
  });
}

async function summary(deps: AppDeps, incident: Incident): Promise<IncidentSummary> {
  return {
    id: incident.id,
    title: incident.title,
    severity: incident.severity,
    serviceName: await serviceName(deps, incident.serviceId),
    state: incident.state,
    url: `${deps.notify.publicUrl}/incidents/${incident.id}`,
  };
}

/** Replaces the pressed message: chat.update with the bot token when the message is known, else through response_url. */
async function slackUpdate(deps: AppDeps, press: SlackButtonPress, message: SlackMessage): Promise<void> {
  const { botToken, apiUrl } = deps.notify.slack;
  if (botToken && press.channelId && press.messageTs) {
    const slack = createSlackChannel({ botToken, clock: deps.clock, timeoutMs: SLACK_FOLLOW_UP_MS, ...(apiUrl ? { apiBaseUrl: apiUrl } : {}) });
    const outcome = await slack.update({ channel: press.channelId, ts: press.messageTs }, message, new AbortController().signal);
    if (outcome.status === 'sent') return;
    deps.logger.warn('slack: updating the pressed message failed', { outcome });
  }
  await slackRespond(deps, press, { replace_original: true, text: message.text, blocks: message.blocks });
}

/** A message only the presser sees. */
function slackEphemeral(deps: AppDeps, press: SlackButtonPress, text: string): Promise<void> {
  return slackRespond(deps, press, { response_type: 'ephemeral', replace_original: false, text: slackEscape(text) });
}

async function slackRespond(deps: AppDeps, press: SlackButtonPress, body: Record<string, unknown>): Promise<void> {
  if (!press.responseUrl) return;
  const answer = await post(
    press.responseUrl,
    { headers: { 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify(body) },
    { timeoutMs: SLACK_FOLLOW_UP_MS, signal: new AbortController().signal },
  );
  if (!answer.answered || answer.status >= 300) deps.logger.warn('slack: posting to response_url failed', { status: answer.answered ? answer.status : null });
}

function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

// Twilio ------------------------------------------------------------------------------------

/**
 * The form of a request Twilio signed: X-Twilio-Signature over PUBLIC_URL + the path and
 * query as received + the sorted parameters. PUBLIC_URL must be the URL Twilio was given
 * (a proxy in front may strip a path prefix: it is in PUBLIC_URL, not in the path here).
 */
async function signedTwilioForm(ctx: Koa.Context, deps: AppDeps): Promise<URLSearchParams> {
  const { form } = await readFormBody(ctx, deps.bodyLimitBytes);
  const token = deps.notify.twilio.authToken;
  const url = `${deps.notify.publicUrl}${ctx.path}${ctx.querystring ? `?${ctx.querystring}` : ''}`;
  const check = token ? verifyTwilioSignature(token, url, form, ctx.get('x-twilio-signature')) : ({ ok: false, reason: 'missing' } as const);
  if (!check.ok) throw signatureRefused(deps, 'twilio', check.reason);
  return form;
}

/**
 * What a call says when answered: a page whose incident still escalates, with its menu;
 * a page whose incident no longer does, who stopped it (and no menu); anything else
 * (a notice, a verification code, a digest) as the notifier words it.
 */
function callTwiml(deps: AppDeps, { row, stoppedBy, digest }: CallFacts): string {
  if (row.type === 'escalation' && row.incident_state !== null && row.incident_state !== 'ESCALATING') {
    return voiceCallTwiml(
      `Klaxon: the incident ${plain(row.incident_title ?? '', 200)}. ${stopText(stoppedBy, row.incident_state, { time: false })} Goodbye.`,
      null,
    );
  }
  // The builder reads what the message says, not the row's progress (already sent, here).
  const { say, gather } = messageOf('voice', contextOf(deps.notify, row, deps.clock.now(), digest));
  return voiceCallTwiml(say, gather && row.type === 'escalation' ? twilioUrls(deps.notify).gather(row.id) : null);
}

function signatureRefused(deps: AppDeps, provider: 'slack' | 'twilio', reason: string): HttpProblem {
  deps.logger.info('inbound request refused: signature', { provider, reason });
  return new HttpProblem(403, 'bad_signature', 'Forbidden', 'the request is not signed as expected');
}
