/**
 * Slack's buttons (issue 11): the interactions endpoint checks Slack's v0 signature and
 * timestamp, acts as the Slack member who pressed (mapped through their slack contact
 * method), refuses an unmapped member with a message only they see, and updates the
 * message to show who acted. The presses come from the Slack stand-in, signed there.
 */
import { expect } from 'chai';
import { render } from '../../src/notify/templates.ts';
import { SLACK_ACTION_IDS, createSlackChannel, parseSlackMessageId } from '../../src/notify/channels/slack.ts';
import { actionLink, verifyAction, actionKeysFrom } from '../../src/notify/links.ts';
import type { SlackMessage } from '../../src/notify/channels/channel.ts';
import { type SlackStandIn, startSlackStandIn } from '../support/standins/slack.ts';
import { type TestContext, createTestContext } from '../support/context.ts';
import { createUser } from '../support/factories.ts';
import { incidentIn } from '../support/fixtures.ts';
import {
  CURRENT_SECRET,
  type InboundServer,
  addContactMethod,
  addNotification,
  eventsOf,
  startInbound,
  stateOf,
  tokenlessAuditRows,
} from '../support/inbound.ts';

const ALICE_SLACK = 'U0ALICE01';
const BOB_SLACK = 'U0BOB0001';

describe('Slack interactions: POST /integrations/slack/interactions', () => {
  let t: TestContext;
  let slack: SlackStandIn;
  let inbound: InboundServer;
  let alice: string;
  let bob: string;
  let interactions: string;

  before(async () => {
    t = await createTestContext();
    slack = await startSlackStandIn();
    inbound = await startInbound(t, () => ({
      linkKeys: [CURRENT_SECRET],
      slack: { apiUrl: slack.apiBaseUrl, botToken: slack.botToken, signingSecret: slack.signingSecret },
    }));
    interactions = `${inbound.url}/integrations/slack/interactions`;
    alice = await createUser(t.pool, 'Alice');
    bob = await createUser(t.pool, 'Bob');
    await addContactMethod(t, alice, 'slack', ALICE_SLACK);
    await addContactMethod(t, bob, 'slack', BOB_SLACK);
  });
  after(async () => {
    await inbound.close();
    await slack.close();
    await t.close();
  });

  const nowSeconds = () => Math.floor(t.clock.now().getTime() / 1000);

  /** An incident paging Alice on Slack: the page posted to the stand-in, as the notifier would. */
  async function pagedOnSlack(
    title = 'checkout 5xx',
  ): Promise<{ incident: string; notification: string; channel: string; ts: string; tokens: Record<'acknowledge' | 'resolve', string> }> {
    const incident = await incidentIn(t.api, 'ESCALATING', title);
    const method = (await t.pool.query<{ id: string }>(`SELECT id FROM contact_methods WHERE user_id = $1 AND kind = 'slack'`, [alice])).rows[0]?.id ?? '';
    const notification = await addNotification(t, { incidentId: incident, userId: alice, contactMethodId: method, channel: 'slack', destination: ALICE_SLACK });
    const grant = (action: 'acknowledge' | 'resolve') =>
      actionLink(inbound.settings, { incidentId: incident, userId: alice, action, channel: 'slack', notificationId: notification }, t.clock.now());
    const acknowledge = grant('acknowledge');
    const resolve = grant('resolve');
    const message = render('slack', {
      type: 'escalation',
      recipient: { name: 'Alice' },
      occurredAt: t.clock.now(),
      incident: { id: incident, title, severity: 'error', serviceName: null, state: 'ESCALATING', url: `${inbound.url}/incidents/${incident}` },
      level: 1,
      repeatCycle: 0,
      othersPaged: [],
      acknowledge,
      resolve,
      replyCode: null,
    });
    const channel = createSlackChannel({ botToken: slack.botToken, clock: t.clock, apiBaseUrl: slack.apiBaseUrl });
    const sent = await channel.send(
      { notificationId: notification, idempotencyKey: notification, destination: 'D0ALICE01', message },
      new AbortController().signal,
    );
    if (sent.status !== 'sent' || !sent.providerMessageId) throw new Error(`the stand-in refused the page: ${JSON.stringify(sent)}`);
    const ref = parseSlackMessageId(sent.providerMessageId);
    return { incident, notification, channel: ref?.channel ?? '', ts: ref?.ts ?? '', tokens: { acknowledge: acknowledge.token, resolve: resolve.token } };
  }

  const responses = () => slack.server.requests.filter((request) => request.path.endsWith('/response'));
  const buttonValues = (message: { blocks: unknown[] }) =>
    JSON.stringify(message.blocks)
      .match(/"value":"([^"]+)"/g)
      ?.map((match) => match.slice(9, -1)) ?? [];

  it('acts as the member who pressed, updates the message in place to show who acted, and offers Resolve', async () => {
    const page = await pagedOnSlack();
    const res = await slack.pressButton(interactions, {
      userId: ALICE_SLACK,
      actionId: SLACK_ACTION_IDS.acknowledge,
      value: page.tokens.acknowledge,
      channel: page.channel,
      messageTs: page.ts,
      timestamp: nowSeconds(),
    });
    expect(res.status).to.equal(200);
    expect(await res.json()).to.deep.equal({ ok: true });
    expect(await stateOf(t, page.incident)).to.equal('ACKNOWLEDGED');
    const [event] = await eventsOf(t, page.incident, 'acknowledged');
    expect(event?.actor).to.equal('Alice');
    expect(event?.details.via).to.deep.equal({ channel: 'slack', user_id: alice, notification_id: page.notification, slack_user_id: ALICE_SLACK });
    const audit = (await tokenlessAuditRows(t)).at(-1);
    expect(audit).to.deep.include({ route: '/integrations/slack/interactions', status: 200 });
    expect(audit?.actor).to.equal(`user ${alice} via slack (notification ${page.notification}): Alice`);

    // chat.update rewrote the message: who acted, and a Resolve button whose token is a resolve grant.
    const posted = slack.messages.find((message) => message.ts === page.ts);
    expect(posted?.updates).to.have.lengthOf(1);
    const update = posted?.updates[0] as SlackMessage;
    expect(update.text).to.include('Acknowledged');
    expect(JSON.stringify(update.blocks)).to.include('Alice acknowledged this incident.');
    const [resolveToken] = buttonValues(update);
    const verified = verifyAction(resolveToken ?? '', { keys: actionKeysFrom([CURRENT_SECRET]), now: t.clock.now(), expectAction: 'resolve' });
    expect(verified).to.deep.include({ incidentId: page.incident, userId: alice, channel: 'slack', notificationId: page.notification });

    // Pressing again changes nothing and tells only the presser who already acted.
    const before = responses().length;
    const again = await slack.pressButton(interactions, {
      userId: ALICE_SLACK,
      actionId: SLACK_ACTION_IDS.acknowledge,
      value: page.tokens.acknowledge,
      channel: page.channel,
      messageTs: page.ts,
      timestamp: nowSeconds(),
    });
    expect(again.status).to.equal(200);
    expect(responses()).to.have.lengthOf(before + 1);
    const ephemeral = JSON.parse(responses().at(-1)?.body ?? '{}') as Record<string, unknown>;
    expect(ephemeral).to.deep.include({ response_type: 'ephemeral', replace_original: false });
    expect(ephemeral.text).to.match(/^Already acknowledged by Alice at /);
    expect(await eventsOf(t, page.incident, 'acknowledged')).to.have.lengthOf(1);

    // The updated message's Resolve button resolves.
    const resolved = await slack.pressButton(interactions, {
      userId: ALICE_SLACK,
      actionId: SLACK_ACTION_IDS.resolve,
      value: resolveToken ?? '',
      channel: page.channel,
      messageTs: page.ts,
      timestamp: nowSeconds(),
    });
    expect(resolved.status).to.equal(200);
    expect(await stateOf(t, page.incident)).to.equal('RESOLVED');
    expect(posted?.updates.at(-1)?.text).to.include('Resolved');
  });

  it('acts as whoever pressed when they are a known person (a page in a shared channel), not as the one it was sent to', async () => {
    const page = await pagedOnSlack();
    await slack.pressButton(interactions, {
      userId: BOB_SLACK,
      actionId: SLACK_ACTION_IDS.acknowledge,
      value: page.tokens.acknowledge,
      channel: page.channel,
      messageTs: page.ts,
      timestamp: nowSeconds(),
    });
    const [event] = await eventsOf(t, page.incident, 'acknowledged');
    expect(event?.actor).to.equal('Bob');
    expect(event?.details.via).to.deep.include({ user_id: bob, slack_user_id: BOB_SLACK });
    expect(JSON.stringify(slack.messages.find((message) => message.ts === page.ts)?.updates[0]?.blocks)).to.include('Bob acknowledged this incident.');
  });

  it('refuses a member who is nobody in klaxon, with a message only they see, and changes nothing', async () => {
    const page = await pagedOnSlack();
    const before = responses().length;
    const res = await slack.pressButton(interactions, {
      userId: 'U0STRANGER',
      actionId: SLACK_ACTION_IDS.acknowledge,
      value: page.tokens.acknowledge,
      channel: page.channel,
      messageTs: page.ts,
      timestamp: nowSeconds(),
    });
    expect(res.status).to.equal(200);
    expect(await stateOf(t, page.incident)).to.equal('ESCALATING');
    expect(responses()).to.have.lengthOf(before + 1);
    const reply = JSON.parse(responses().at(-1)?.body ?? '{}') as Record<string, unknown>;
    expect(reply).to.deep.include({ response_type: 'ephemeral', replace_original: false });
    expect(reply.text).to.include('U0STRANGER').and.include('not linked to anyone in klaxon');
    expect(slack.messages.find((message) => message.ts === page.ts)?.updates).to.deep.equal([]);
  });

  it('refuses with 403 and no detail a press signed with another secret, one with a stale or future timestamp, and one unsigned', async () => {
    const page = await pagedOnSlack();
    const press = { userId: ALICE_SLACK, actionId: SLACK_ACTION_IDS.acknowledge, value: page.tokens.acknowledge, channel: page.channel, messageTs: page.ts };
    const answers = [
      await slack.pressButton(interactions, { ...press, timestamp: nowSeconds() }, { signWith: 'another-signing-secret' }),
      await slack.pressButton(interactions, { ...press, timestamp: nowSeconds() - 6 * 60 }),
      await slack.pressButton(interactions, { ...press, timestamp: nowSeconds() + 6 * 60 }),
    ];
    const { body } = slack.buttonRequest(interactions, { ...press, timestamp: nowSeconds() });
    answers.push(await fetch(interactions, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body }));
    for (const res of answers) {
      expect(res.status).to.equal(403);
      const problem = (await res.json()) as Record<string, unknown>;
      expect(problem.code).to.equal('bad_signature');
      expect(problem.detail).to.equal('the request is not signed as expected');
    }
    // Four minutes off is within Slack's five.
    expect((await slack.pressButton(interactions, { ...press, timestamp: nowSeconds() - 4 * 60 })).status).to.equal(200);
    expect(await stateOf(t, page.incident)).to.equal('ACKNOWLEDGED');
  });

  it('refuses a button whose token is for the other action, or forged, with a message only the presser sees', async () => {
    const page = await pagedOnSlack();
    const before = responses().length;
    // The resolve token on the Acknowledge button: refused (a token is good for its own action only).
    await slack.pressButton(interactions, {
      userId: ALICE_SLACK,
      actionId: SLACK_ACTION_IDS.acknowledge,
      value: page.tokens.resolve,
      channel: page.channel,
      messageTs: page.ts,
      timestamp: nowSeconds(),
    });
    await slack.pressButton(interactions, {
      userId: ALICE_SLACK,
      actionId: SLACK_ACTION_IDS.acknowledge,
      value: `${page.tokens.acknowledge}x`,
      channel: page.channel,
      messageTs: page.ts,
      timestamp: nowSeconds(),
    });
    expect(responses()).to.have.lengthOf(before + 2);
    for (const request of responses().slice(before))
      expect((JSON.parse(request.body) as { text: string }).text).to.equal('This button does not work. Open klaxon to act on the incident.');
    expect(await stateOf(t, page.incident)).to.equal('ESCALATING');
  });

  it('replaces the message through response_url when chat.update cannot (the bot did not post it)', async () => {
    const page = await pagedOnSlack();
    const before = responses().length;
    await slack.pressButton(interactions, {
      userId: ALICE_SLACK,
      actionId: SLACK_ACTION_IDS.acknowledge,
      value: page.tokens.acknowledge,
      channel: 'C0ELSEWHERE',
      messageTs: '1.000001',
      timestamp: nowSeconds(),
    });
    expect(await stateOf(t, page.incident)).to.equal('ACKNOWLEDGED');
    expect(responses()).to.have.lengthOf(before + 1);
    const replaced = JSON.parse(responses().at(-1)?.body ?? '{}') as Record<string, unknown>;
    expect(replaced.replace_original).to.equal(true);
    expect(JSON.stringify(replaced.blocks)).to.include('Alice acknowledged this incident.');
  });

  it('answers 200 and does nothing for interactions that are not our buttons', async () => {
    const press = { userId: ALICE_SLACK, actionId: 'klaxon_open_2', value: 'whatever', channel: 'C0X', messageTs: '1.2', timestamp: nowSeconds() };
    const before = slack.server.requests.length;
    const res = await slack.pressButton(interactions, press);
    expect(res.status).to.equal(200);
    expect(slack.server.requests).to.have.lengthOf(before);
  });
});
