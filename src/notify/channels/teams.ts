/**
 * Microsoft Teams: an Adaptive Card POSTed to a channel's Workflows ("When a Teams webhook
 * request is received") or legacy incoming-webhook URL, as a message with one attachment
 * of type application/vnd.microsoft.card.adaptive. The card carries Action.OpenUrl links
 * to acknowledge and resolve (Teams webhooks cannot send button presses back to us; the
 * links lead to the confirmation page, and the POST there acts).
 *
 * Delivery guarantee: at least once. "Sent" means the webhook answered 2xx (Workflows
 * answers 202: accepted by the flow, which posts the card a moment later). Classified
 * like a webhook: 408, 429, 5xx, network errors and timeouts transient (Retry-After
 * honoured), other answers permanent. Teams has no idempotency key: a re-send after a
 * crash between the POST and recording its answer posts the same card twice.
 */
import type { Clock } from '../../clock/clock.ts';
import { type Channel, type Delivery, type DeliveryOutcome, type TeamsMessage, permanent } from './channel.ts';
import { classifyStatus, httpUrlProblem, post } from './http.ts';

export interface TeamsChannelOptions {
  clock: Clock;
  timeoutMs?: number;
}

export function createTeamsChannel({ clock, timeoutMs = 10_000 }: TeamsChannelOptions): Channel<'teams'> {
  return {
    kind: 'teams',
    async send(delivery: Delivery<TeamsMessage>, signal: AbortSignal): Promise<DeliveryOutcome> {
      const problem = httpUrlProblem(delivery.destination);
      if (problem) return permanent(problem);
      const body = JSON.stringify(teamsPayload(delivery.message));
      const result = await post(delivery.destination, { headers: { 'content-type': 'application/json' }, body }, { timeoutMs, signal });
      if (!result.answered) return result.outcome;
      return classifyStatus(result, clock.now().getTime());
    },
  };
}

/** The message envelope both Workflows and the incoming webhooks accept. */
export function teamsPayload(message: TeamsMessage): Record<string, unknown> {
  return {
    type: 'message',
    attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', contentUrl: null, content: message.card }],
  };
}
