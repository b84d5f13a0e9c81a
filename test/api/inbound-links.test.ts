/**
 * Action links (issue 11, "Acknowledge from the message"): a GET shows a confirmation
 * page and changes nothing; the POST acts as the person the link was sent to, once;
 * expired, forged and retired-key links are refused; keys rotate.
 */
import { expect } from 'chai';
import { type ActionGrant, actionKeysFrom, actionLink, actionUrl, signAction } from '../../src/notify/links.ts';
import { type TestContext, createTestContext } from '../support/context.ts';
import { createUser } from '../support/factories.ts';
import { incidentIn } from '../support/fixtures.ts';
import {
  CURRENT_SECRET,
  type InboundServer,
  PREVIOUS_SECRET,
  addContactMethod,
  addNotification,
  eventsOf,
  startInbound,
  stateOf,
  tokenlessAuditRows,
} from '../support/inbound.ts';

const HOUR = 60 * 60_000;
const HTML = { accept: 'text/html,application/xhtml+xml' };

describe('action links: GET /actions shows, POST /actions acts', () => {
  let t: TestContext;
  let inbound: InboundServer;
  let alice: string;
  before(async () => {
    t = await createTestContext();
    inbound = await startInbound(t, () => ({ linkKeys: [CURRENT_SECRET, PREVIOUS_SECRET] }));
    alice = await createUser(t.pool, 'Alice');
  });
  after(async () => {
    await inbound.close();
    await t.close();
  });

  const link = (grant: ActionGrant, { ttlMs = 24 * HOUR, secrets = inbound.settings.linkKeys } = {}) =>
    actionLink({ ...inbound.settings, linkKeys: secrets, linkTtlMs: ttlMs }, grant, t.clock.now());
  const pathOf = (url: string) => url.slice(inbound.url.length);
  const get = (url: string) => inbound.api.raw('GET', pathOf(url), { headers: HTML });
  const press = (url: string, headers: Record<string, string> = HTML) =>
    inbound.api.raw('POST', pathOf(url), { headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: '' });

  it('builds <PUBLIC_URL>/actions?token=<token>, with key ids derived from the secrets (stable across processes)', () => {
    const keys = actionKeysFrom([CURRENT_SECRET, PREVIOUS_SECRET]);
    expect(keys.map((key) => key.id)).to.deep.equal(actionKeysFrom([CURRENT_SECRET, PREVIOUS_SECRET]).map((key) => key.id));
    expect(keys[0]?.id)
      .to.match(/^[A-Za-z0-9_-]{8}$/)
      .and.not.equal(keys[1]?.id);
    const { url, token } = link({ incidentId: alice, userId: alice, action: 'acknowledge', channel: 'email' });
    expect(url).to.equal(`${inbound.url}/actions?token=${token}`);
    expect(actionUrl({ publicUrl: 'https://klaxon.example' }, token)).to.equal(`https://klaxon.example/actions?token=${token}`);
    expect(token.split('.')[0]).to.equal(keys[0]?.id);
  });

  it('GET answers a confirmation page (escaped, no script, no referrer) and changes nothing: mail scanners follow links', async () => {
    const incident = await incidentIn(t.api, 'ESCALATING', '<script>alert(1)</script> checkout "down"');
    const { url } = link({ incidentId: incident, userId: alice, action: 'acknowledge', channel: 'email' });
    for (let i = 0; i < 3; i += 1) {
      const res = await get(url);
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.match(/^text\/html/);
      expect(res.text).to.include('Alice, you are about to acknowledge this incident as yourself');
      expect(res.text).to.include('<form method="post">').and.include('Acknowledge</button>');
      expect(res.text).to.include('&lt;script&gt;alert(1)&lt;/script&gt; checkout &quot;down&quot;').and.not.include('<script>');
      expect(res.headers.get('content-security-policy')).to.include("default-src 'none'").and.include("form-action 'self'");
      expect(res.headers.get('referrer-policy')).to.equal('no-referrer');
      expect(res.headers.get('cache-control')).to.equal('no-store');
    }
    // HEAD, as some scanners send, changes nothing either.
    expect((await inbound.api.raw('HEAD', pathOf(url), {})).status).to.equal(200);
    expect(await stateOf(t, incident)).to.equal('ESCALATING');
    expect(await eventsOf(t, incident, 'acknowledged')).to.deep.equal([]);
    expect(await tokenlessAuditRows(t)).to.deep.equal([]);
  });

  it('POST acknowledges as the person, once: the event and the audit row say who and through which channel; again says who already did', async () => {
    const incident = await incidentIn(t.api, 'ESCALATING', 'payments failing');
    const method = await addContactMethod(t, alice, 'teams', 'https://teams.example/hook');
    const notification = await addNotification(t, {
      incidentId: incident,
      userId: alice,
      contactMethodId: method,
      channel: 'teams',
      destination: 'https://teams.example/hook',
    });
    const { url } = link({ incidentId: incident, userId: alice, action: 'acknowledge', channel: 'teams', notificationId: notification });
    const before = (await tokenlessAuditRows(t)).length;

    const first = await press(url);
    expect(first.status, first.text).to.equal(200);
    expect(first.text).to.include('Acknowledged by Alice. Paging has stopped.');
    expect(await stateOf(t, incident)).to.equal('ACKNOWLEDGED');
    const [event, ...more] = await eventsOf(t, incident, 'acknowledged');
    expect(more).to.deep.equal([]);
    expect(event?.actor).to.equal('Alice');
    expect(event?.token_id).to.equal(null);
    expect(event?.details.via).to.deep.equal({ channel: 'teams', user_id: alice, notification_id: notification });
    const audit = (await tokenlessAuditRows(t)).slice(before);
    expect(audit).to.have.lengthOf(1);
    expect(audit[0]).to.deep.include({ token_id: null, method: 'POST', route: '/actions', path: '/actions', status: 200 });
    expect(audit[0]?.actor).to.equal(`user ${alice} via teams (notification ${notification}): Alice`);

    // The link is replayable until it expires: replaying changes nothing and says so.
    t.clock.advance(60_000);
    const again = await press(url);
    expect(again.status).to.equal(200);
    expect(again.text).to.match(/Already acknowledged by Alice at 2026-03-01T09:0\d:00\.000Z\./);
    expect(await eventsOf(t, incident, 'acknowledged')).to.have.lengthOf(1);
    // The GET now says there is nothing to do, and offers no button.
    const page = await get(url);
    expect(page.text).to.include('Already acknowledged by Alice').and.not.include('<form');
  });

  it('resolves with a resolve link; resolving a resolved incident says who resolved it', async () => {
    const incident = await incidentIn(t.api, 'ACKNOWLEDGED');
    const { url } = link({ incidentId: incident, userId: alice, action: 'resolve', channel: 'email' });
    expect((await press(url)).text).to.include('Resolved by Alice.');
    expect(await stateOf(t, incident)).to.equal('RESOLVED');
    expect((await eventsOf(t, incident, 'resolved'))[0]?.details.via).to.deep.equal({ channel: 'email', user_id: alice, notification_id: null });
    const again = await press(url);
    expect(again.status).to.equal(200);
    expect(again.text).to.include('Already resolved by Alice');
    // An acknowledge link for a resolved incident has nothing to do either.
    const ack = link({ incidentId: incident, userId: alice, action: 'acknowledge', channel: 'email' });
    expect((await press(ack.url)).text).to.include('Already resolved by Alice');
    expect(await eventsOf(t, incident, 'resolved')).to.have.lengthOf(1);
  });

  it('refuses an expired link with 410 (a page for a browser, a problem for a client), GET and POST alike, changing nothing', async () => {
    const incident = await incidentIn(t.api, 'ESCALATING');
    const { url } = link({ incidentId: incident, userId: alice, action: 'acknowledge', channel: 'email' }, { ttlMs: HOUR });
    t.clock.advance(HOUR);
    const page = await get(url);
    expect(page.status).to.equal(410);
    expect(page.headers.get('content-type')).to.match(/^text\/html/);
    expect(page.text).to.include('This link has expired');
    const problem = await press(url, { accept: 'application/json' });
    expect(problem.status).to.equal(410);
    expect(problem.headers.get('content-type')).to.match(/^application\/problem\+json/);
    expect(problem.body.code).to.equal('link_expired');
    expect((await press(url)).status).to.equal(410);
    expect(await stateOf(t, incident)).to.equal('ESCALATING');
  });

  it('refuses forged links with a 404 that says nothing more: another incident swapped in, another secret, a retired key, garbage', async () => {
    const mine = await incidentIn(t.api, 'ESCALATING');
    const other = await incidentIn(t.api, 'ESCALATING');
    const { token } = link({ incidentId: mine, userId: alice, action: 'acknowledge', channel: 'email' });
    const [keyId, payload, mac] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    const swapped = `${keyId}.${Buffer.from(JSON.stringify({ ...claims, i: other })).toString('base64url')}.${mac}`;
    const grant: ActionGrant = { incidentId: other, userId: alice, action: 'acknowledge', channel: 'email' };
    const strangerKey = signAction(grant, { keys: [{ id: keyId, secret: 'a-stranger-secret-0123456789abcdef0123456789' }], now: t.clock.now() });
    const retired = link(grant, { secrets: ['a-retired-secret-0123456789abcdef0123456789ab'] }).token;
    for (const forged of [swapped, strangerKey, retired, 'not.a.token', 'x']) {
      for (const res of [
        await inbound.api.raw('GET', `/actions?token=${forged}`, { headers: HTML }),
        await press(`${inbound.url}/actions?token=${forged}`, { accept: 'application/json' }),
      ]) {
        expect(res.status, forged).to.equal(404);
        expect(res.text, forged).to.not.include('signature').and.not.include('key');
      }
    }
    expect((await press(`${inbound.url}/actions?token=${swapped}`, { accept: 'application/json' })).body.code).to.equal('link_invalid');
    // A token that is no token at all is a validation problem naming the field.
    expect((await inbound.api.get('/actions?token=%3Cscript%3E')).status).to.equal(400);
    expect(await stateOf(t, mine)).to.equal('ESCALATING');
    expect(await stateOf(t, other)).to.equal('ESCALATING');
  });

  it('keeps working across a key rotation: a link signed with the previous key verifies while it is listed second', async () => {
    const incident = await incidentIn(t.api, 'ESCALATING');
    const old = link({ incidentId: incident, userId: alice, action: 'acknowledge', channel: 'email' }, { secrets: [PREVIOUS_SECRET] });
    expect(old.token.split('.')[0]).to.equal(actionKeysFrom([PREVIOUS_SECRET])[0]?.id);
    expect((await get(old.url)).status).to.equal(200);
    expect((await press(old.url)).text).to.include('Acknowledged by Alice');
    expect(await stateOf(t, incident)).to.equal('ACKNOWLEDGED');
  });

  it('refuses every link while no key is configured', async () => {
    const incident = await incidentIn(t.api, 'ESCALATING');
    const { url } = link({ incidentId: incident, userId: alice, action: 'acknowledge', channel: 'email' });
    const bare = await startInbound(t, () => ({ linkKeys: [] }));
    try {
      const res = await bare.api.raw('POST', pathOf(url), { headers: HTML, body: '' });
      expect(res.status).to.equal(404);
    } finally {
      await bare.close();
    }
    expect(await stateOf(t, incident)).to.equal('ESCALATING');
  });
});

describe('action links are rate limited per address', () => {
  let t: TestContext;
  let inbound: InboundServer;
  before(async () => {
    t = await createTestContext({ addressRateLimit: { ratePerMinute: 1, burst: 3 } });
    inbound = await startInbound(t, () => ({ linkKeys: [CURRENT_SECRET] }));
  });
  after(async () => {
    await inbound.close();
    await t.close();
  });

  it('answers 429 with Retry-After once an address spent its budget, before looking at the token', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i += 1) statuses.push((await inbound.api.get('/actions?token=a.b.c')).status);
    expect(statuses.slice(0, 3)).to.deep.equal([404, 404, 404]);
    expect(statuses.slice(3)).to.deep.equal([429, 429]);
    const res = await inbound.api.raw('POST', '/actions?token=a.b.c', { body: '' });
    expect(res.status).to.equal(429);
    expect(Number(res.headers.get('retry-after'))).to.be.greaterThan(0);
  });
});
