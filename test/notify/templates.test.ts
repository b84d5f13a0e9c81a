/**
 * Templates: every type renders for every channel; what users typed stays inert in each
 * format (HTML, Slack mrkdwn, Adaptive Card markdown, one-line plain text); the lengths
 * each channel allows; the webhook's documented JSON.
 */
import { expect } from 'chai';
import { CHANNEL_KINDS } from '../../src/notify/channels/channel.ts';
import { type NotificationContext, SMS_MAX, plain, render } from '../../src/notify/templates.ts';
import { unsafeCodePoints } from '../support/unsafe-text.ts';
import { HOSTILE_TITLE, digest, escalation, incident, notice, verification } from './fixtures.ts';

const hostile = escalation({
  incident: incident({ title: HOSTILE_TITLE, serviceName: '<b>pay\u0000ments</b>' }),
  recipient: { name: 'Alice\u202e<i>' },
  othersPaged: ['<@U123>', 'Bob\nCarol'],
});

/** Every string in a Slack message (texts of blocks, fields, buttons), for checks over all of them. */
function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value && typeof value === 'object') return Object.values(value).flatMap(strings);
  return [];
}

describe('templates', () => {
  const contexts: NotificationContext[] = [escalation(), notice('acknowledged'), notice('resolved'), verification(), digest()];

  it('render every notification type for every channel', () => {
    for (const context of contexts) {
      for (const kind of CHANNEL_KINDS) {
        expect(() => render(kind, context), `${context.type} by ${kind}`).to.not.throw();
      }
    }
  });

  describe('an escalation', () => {
    it('says severity, title, service, level, who else was paged, and links to acknowledge, resolve and open', () => {
      const email = render('email', escalation());
      expect(email.subject).to.equal('CRITICAL: checkout 5xx above 5%');
      for (const part of [
        'payments',
        'level 2',
        'Bob, Carol',
        'https://klaxon.example/a/ACK-TOKEN',
        'https://klaxon.example/a/RES-TOKEN',
        'https://klaxon.example/incidents/8c0e3f5e',
      ]) {
        expect(email.text).to.contain(part);
        expect(email.html).to.contain(part);
      }
      expect(render('email', escalation({ repeatCycle: 1 })).text).to.contain('level 2, repeat 1');
      expect(render('email', escalation({ othersPaged: [] })).text).to.contain('Also paged: nobody else');
    });

    it('gives SMS the reply codes, within 320 characters', () => {
      expect(render('sms', escalation()).text).to.equal('CRITICAL L2 payments: checkout 5xx above 5%. Reply ACK 4821 or RESOLVE 4821');
      const long = render('sms', escalation({ incident: incident({ title: 'x'.repeat(500) }) })).text;
      expect(long).to.have.length(SMS_MAX);
      expect(long.endsWith('…. Reply ACK 4821 or RESOLVE 4821')).to.equal(true);
      const astral = render('sms', escalation({ incident: incident({ title: '🔥'.repeat(400) }) })).text;
      expect(astral.length).to.be.at.most(SMS_MAX);
      expect(astral).to.not.match(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/); // no half of a surrogate pair
      expect(astral.endsWith('Reply ACK 4821 or RESOLVE 4821')).to.equal(true);
      expect(render('sms', escalation({ replyCode: null })).text).to.not.contain('Reply');
    });

    it('gives Slack Acknowledge and Resolve buttons carrying the signed tokens, and a link to the incident', () => {
      const { blocks } = render('slack', escalation());
      const actions = (blocks.at(-1) as { elements: Record<string, unknown>[] }).elements;
      expect(actions.map(({ action_id, value, url, style }) => ({ action_id, value, url, style }))).to.deep.equal([
        { action_id: 'klaxon_acknowledge', value: 'ACK-TOKEN', url: undefined, style: 'primary' },
        { action_id: 'klaxon_resolve', value: 'RES-TOKEN', url: undefined, style: 'danger' },
        { action_id: 'klaxon_open_2', value: undefined, url: 'https://klaxon.example/incidents/8c0e3f5e-4c1a-4e51-9f57-4cf5f1f3a0b9', style: undefined },
      ]);
    });

    it('asks for a key press by voice; notices do not', () => {
      expect(render('voice', escalation())).to.deep.equal({
        say: 'Klaxon page. critical incident: checkout 5xx above 5%. Service payments. Escalation level 2.',
        gather: true,
      });
      expect(render('voice', notice('resolved')).gather).to.equal(false);
    });
  });

  it('writes the webhook body in its documented shape, with the exact title', () => {
    expect(render('webhook', hostile).body).to.deep.equal({
      version: 1,
      type: 'escalation',
      occurred_at: '2026-11-23T16:20:00.000Z',
      incident: {
        id: '8c0e3f5e-4c1a-4e51-9f57-4cf5f1f3a0b9',
        title: HOSTILE_TITLE,
        severity: 'critical',
        service: '<b>pay\u0000ments</b>',
        state: 'ESCALATING',
        url: 'https://klaxon.example/incidents/8c0e3f5e-4c1a-4e51-9f57-4cf5f1f3a0b9',
      },
      level: 2,
      repeat_cycle: 0,
      paged: ['<@U123>', 'Bob\nCarol'],
      links: { acknowledge: 'https://klaxon.example/a/ACK-TOKEN', resolve: 'https://klaxon.example/a/RES-TOKEN' },
    });
    expect(render('webhook', notice('acknowledged', { resolve: { url: 'https://k/r', token: 't' } })).body).to.include({ type: 'acknowledged', by: 'Alice' });
    expect(render('webhook', digest()).body).to.include({ type: 'digest', more_count: 37 });
  });

  describe('a hostile title', () => {
    it('is escaped in the HTML part of an e-mail', () => {
      const { html } = render('email', hostile);
      expect(html).to.not.contain('<script>');
      expect(html).to.not.contain('<b>');
      expect(html).to.not.contain('<i>');
      expect(html).to.contain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;!channel&gt;');
    });

    it('cannot mention, link or format in Slack: &, <, > escaped in mrkdwn; the header is plain text', () => {
      const message = render('slack', hostile);
      const mrkdwn = strings(message.blocks.slice(1, 3)).concat(message.text);
      for (const text of mrkdwn) {
        expect(text).to.not.match(/<[!@#]/);
        expect(text).to.not.contain('<script>');
      }
      expect(message.text).to.contain('&lt;!channel&gt;');
      const header = (message.blocks[0] as { text: { type: string; text: string } }).text;
      expect(header.type).to.equal('plain_text');
      expect(header.text.length).to.be.at.most(150);
    });

    it('cannot add a link or emphasis to the Teams card', () => {
      const card = render('teams', hostile).card as { body: { text?: string }[] };
      const title = card.body[0]?.text ?? '';
      expect(title).to.contain('\\[click\\]\\(https://evil.example\\)');
      expect(title).to.contain('\\*bold\\*');
    });

    it('leaves no control, bidi, zero-width or line-break character in any one-line text, and a newline nowhere it could start a header', () => {
      const oneLine = [
        render('email', hostile).subject,
        render('sms', hostile).text,
        render('voice', hostile).say,
        render('in_app', hostile).title,
        render('in_app', hostile).body,
        render('slack', hostile).text,
      ];
      for (const text of oneLine) expect(unsafeCodePoints(text), JSON.stringify(text)).to.deep.equal([]);
      // Slack's fields put a layout newline between label and value, and only that one.
      for (const text of strings(render('slack', hostile).blocks)) {
        expect(unsafeCodePoints(text, ['\n']), JSON.stringify(text)).to.deep.equal([]);
        expect(text.split('\n').length, JSON.stringify(text)).to.be.at.most(2);
      }
      const emailText = render('email', hostile).text;
      expect(unsafeCodePoints(emailText, ['\n'])).to.deep.equal([]);
      expect(emailText.split('\n').some((line) => line.startsWith('X-Injected'))).to.equal(false);
    });
  });

  it('caps lengths: e-mail subject 150, Slack header 150, SMS 320, spoken title 200', () => {
    const long = escalation({ incident: incident({ title: 'y'.repeat(500), serviceName: 's'.repeat(300) }) });
    expect(render('email', long).subject.length).to.be.at.most(150);
    expect((render('slack', long).blocks[0] as { text: { text: string } }).text.text.length).to.be.at.most(150);
    expect(render('sms', long).text.length).to.be.at.most(SMS_MAX);
    expect(render('voice', long).say.length).to.be.below(400);
  });

  it('tells a stop-paging notice by who acted, offering Resolve after an acknowledgement', () => {
    expect(render('sms', notice('acknowledged')).text).to.equal('ACKNOWLEDGED by Alice: checkout 5xx above 5%. Paging has stopped.');
    expect(render('email', notice('resolved', { actor: null })).text).to.contain('Someone resolved this incident.');
    const withResolve = render('slack', notice('acknowledged', { resolve: { url: 'https://k/r', token: 'RES' } }));
    expect(strings(withResolve.blocks)).to.include('klaxon_resolve');
    expect(strings(render('slack', notice('resolved')).blocks)).to.not.include('klaxon_acknowledge');
  });

  it('folds many incidents into a digest: "and 37 more incidents"', () => {
    expect(render('email', digest()).text).to.contain('and 37 more incidents');
    expect(render('email', digest()).subject).to.equal('39 incidents are paging you');
    const sms = render('sms', digest()).text;
    expect(sms).to.contain('and 37 more incidents');
    expect(sms.length).to.be.at.most(SMS_MAX);
    expect(render('in_app', digest()).url).to.equal('https://klaxon.example/incidents?state=ESCALATING');
  });

  it('sends the verification code, spelled out by voice', () => {
    expect(render('sms', verification()).text).to.equal('klaxon code: 482193. It expires in 10 minutes. Not you? Ignore this message.');
    expect(render('voice', verification()).say).to.equal('Your klaxon verification code is 4, 8, 2, 1, 9, 3. Again: 4, 8, 2, 1, 9, 3.');
  });

  it('makes text plain: controls become spaces, runs collapse, long text ends in an ellipsis', () => {
    expect(plain('a\u0000b\r\nc\u202ed\u200be  f', 100)).to.equal('a b c d e f');
    expect(plain('abcdef', 4)).to.equal('abc…');
    expect(plain('😀😀😀😀', 3)).to.equal('😀😀…');
  });
});
