/** The Teams channel against a real recording HTTP server standing in for a Workflows webhook. */
import { expect } from 'chai';
import { createTeamsChannel } from '../../src/notify/channels/teams.ts';
import { render } from '../../src/notify/templates.ts';
import { type RecordingServer, startRecordingServer } from '../support/standins/recording-http.ts';
import { abortAfter, clockAt, delivery, escalation, never } from './fixtures.ts';

describe('Teams channel', () => {
  let webhook: RecordingServer;
  const channel = createTeamsChannel({ clock: clockAt(), timeoutMs: 1_000 });
  const message = render('teams', escalation());
  const send = (signal = never()) => channel.send(delivery(`${webhook.url}/workflows/abc`, message), signal);

  beforeEach(async () => {
    webhook = await startRecordingServer({ name: 'Teams webhook' });
  });
  afterEach(() => webhook.close());

  it("POSTs a message with the Adaptive Card as its attachment, and Workflows' 202 is sent", async () => {
    webhook.script({ status: 202 });
    expect(await send()).to.deep.equal({ status: 'sent', providerMessageId: null });
    const posted = JSON.parse(webhook.requests[0]?.body ?? '') as { type: string; attachments: { contentType: string; content: unknown }[] };
    expect(posted.type).to.equal('message');
    expect(posted.attachments).to.have.length(1);
    expect(posted.attachments[0]?.contentType).to.equal('application/vnd.microsoft.card.adaptive');
    expect(posted.attachments[0]?.content).to.deep.equal(message.card);
    const card = message.card as { type: string; actions: { type: string; title: string; url: string }[] };
    expect(card.type).to.equal('AdaptiveCard');
    expect(card.actions.map((action) => [action.type, action.title, action.url])).to.deep.equal([
      ['Action.OpenUrl', 'Acknowledge', 'https://klaxon.example/a/ACK-TOKEN'],
      ['Action.OpenUrl', 'Resolve', 'https://klaxon.example/a/RES-TOKEN'],
      ['Action.OpenUrl', 'Open incident', 'https://klaxon.example/incidents/8c0e3f5e-4c1a-4e51-9f57-4cf5f1f3a0b9'],
    ]);
  });

  it('reads 429 with Retry-After as transient, 400 as permanent', async () => {
    webhook.script({ status: 429, headers: { 'retry-after': '12' } }, { status: 400, body: 'Bad payload' });
    expect(await send()).to.deep.equal({ status: 'transient', error: 'HTTP 429', retryAfterMs: 12_000 });
    expect(await send()).to.deep.equal({ status: 'permanent', error: 'HTTP 400: Bad payload' });
  });

  it('gives up on a webhook that hangs when the signal aborts: transient', async () => {
    webhook.script({ hang: true });
    const outcome = await send(abortAfter(50));
    expect(outcome.status).to.equal('transient');
  });
});
