/**
 * The e-mail channel against a real SMTP server (smtp-server) whose received mail is
 * parsed (mailparser): what arrives, the deterministic Message-ID, authentication, and
 * how each SMTP reply, a hang and a refused connection are read.
 */
import { expect } from 'chai';
import type { Channel } from '../../src/notify/channels/channel.ts';
import { createEmailChannel, emailMessageId, type EmailChannelOptions } from '../../src/notify/channels/email.ts';
import { render } from '../../src/notify/templates.ts';
import { type SmtpStandIn, startSmtpStandIn } from '../support/standins/smtp.ts';
import { HOSTILE_TITLE, abortAfter, delivery, escalation, incident, never } from './fixtures.ts';

const TO = 'alice@example.com';

describe('e-mail channel', () => {
  let smtp: SmtpStandIn;
  let channel: Channel<'email'>;
  const open = (stand: SmtpStandIn, overrides: Partial<EmailChannelOptions> = {}) =>
    createEmailChannel({ host: stand.host, port: stand.port, secure: false, from: 'klaxon <pager@klaxon.example>', socketTimeoutMs: 2_000, ...overrides });
  const message = render('email', escalation());

  beforeEach(async () => {
    smtp = await startSmtpStandIn();
    channel = open(smtp);
  });
  afterEach(async () => {
    await channel.close?.();
    await smtp.close();
  });

  it('delivers the subject, the text and the HTML part with a Message-ID derived from the idempotency key', async () => {
    const outcome = await channel.send(delivery(TO, message), never());
    const messageId = emailMessageId('esc-1:user-1:method-1:rule-1', 'klaxon.example');
    expect(outcome).to.deep.equal({ status: 'sent', providerMessageId: messageId });
    const [mail] = smtp.received;
    expect(mail?.from).to.equal('pager@klaxon.example');
    expect(mail?.to).to.deep.equal([TO]);
    expect(mail?.parsed.subject).to.equal(message.subject);
    expect(mail?.parsed.messageId).to.equal(messageId);
    expect(mail?.parsed.text?.trim()).to.equal(message.text.trim());
    expect(mail?.parsed.html).to.contain('<a href="https://klaxon.example/a/ACK-TOKEN">Acknowledge</a>');
    expect(mail?.parsed.headers.get('auto-submitted')).to.equal('auto-generated');
    expect(mail?.parsed.headers.get('x-klaxon-notification-id')).to.equal('n-1');
  });

  it('sends a re-sent notification as the same message (same Message-ID), another notification as another', async () => {
    await channel.send(delivery(TO, message), never());
    await channel.send(delivery(TO, message), never());
    await channel.send(delivery(TO, message, { idempotencyKey: 'esc-2:user-1:method-1:rule-1' }), never());
    const ids = smtp.received.map((mail) => mail.parsed.messageId);
    expect(ids[0]).to.equal(ids[1]);
    expect(ids[2]).to.not.equal(ids[0]);
    expect(ids[0]).to.match(/^<[0-9a-f]{32}\.klaxon@klaxon\.example>$/);
  });

  it('keeps a hostile title inert: escaped in the HTML part, one line in the subject', async () => {
    const hostile = render('email', escalation({ incident: incident({ title: HOSTILE_TITLE }) }));
    await channel.send(delivery(TO, hostile), never());
    const [mail] = smtp.received;
    expect(mail?.parsed.html).to.not.contain('<script>');
    expect(mail?.parsed.html).to.contain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(mail?.parsed.subject).to.not.match(/[\r\n]/);
    expect(mail?.parsed.headers.has('x-injected')).to.equal(false);
    expect(mail?.parsed.subject).to.contain('X-Injected: yes'); // in the subject's text, not a header of its own
  });

  const replies: [string, { at: 'rcpt'; code: number } | { at: 'data'; code: number }, 'transient' | 'permanent'][] = [
    ['a mailbox refused at RCPT with 550', { at: 'rcpt', code: 550 }, 'permanent'],
    ['a mailbox busy at RCPT with 451', { at: 'rcpt', code: 451 }, 'transient'],
    ['a message refused after DATA with 554', { at: 'data', code: 554 }, 'permanent'],
    ['a message deferred after DATA with 452', { at: 'data', code: 452 }, 'transient'],
  ];
  for (const [what, answer, status] of replies) {
    it(`reads ${what} as ${status}`, async () => {
      smtp.script({ ...answer, message: 'scripted reply' });
      const outcome = await channel.send(delivery(TO, message), never());
      expect(outcome.status).to.equal(status);
      expect(outcome.status !== 'sent' && outcome.error).to.contain(`SMTP ${answer.code}`);
      expect(smtp.received).to.have.length(0);
    });
  }

  it('gives up on a server that takes DATA and never answers, when the signal aborts: transient (it may have the message)', async () => {
    smtp.script({ at: 'data', hang: true });
    const outcome = await channel.send(delivery(TO, message), abortAfter(200));
    expect(outcome.status).to.equal('transient');
    expect(outcome.status === 'transient' && outcome.error).to.match(/^aborted/);
    expect(smtp.dataCount()).to.equal(1);
  });

  it('gives up on a silent server at its socket timeout: transient', async () => {
    smtp.script({ at: 'data', hang: true });
    const quick = open(smtp, { socketTimeoutMs: 200, pool: false });
    try {
      const outcome = await quick.send(delivery(TO, message), never());
      expect(outcome.status).to.equal('transient');
      expect(outcome.status === 'transient' && outcome.error).to.match(/ETIMEDOUT/);
    } finally {
      await quick.close?.();
    }
  });

  it('reads a refused connection as transient', async () => {
    const gone = await startSmtpStandIn();
    const port = gone.port;
    await gone.close();
    const nowhere = open({ ...smtp, port }, { pool: false });
    try {
      const outcome = await nowhere.send(delivery(TO, message), never());
      expect(outcome.status).to.equal('transient');
      expect(outcome.status === 'transient' && outcome.error).to.contain('ECONNREFUSED');
    } finally {
      await nowhere.close?.();
    }
  });
});

describe('e-mail channel with SMTP AUTH', () => {
  let smtp: SmtpStandIn;
  before(async () => {
    smtp = await startSmtpStandIn({ auth: { user: 'klaxon', pass: 'relay-password' } });
  });
  after(() => smtp.close());

  const channelWith = (pass: string) =>
    createEmailChannel({ host: smtp.host, port: smtp.port, secure: false, auth: { user: 'klaxon', pass }, from: 'pager@klaxon.example', pool: false });

  it('authenticates and sends', async () => {
    const channel = channelWith('relay-password');
    try {
      expect((await channel.send(delivery(TO, render('email', escalation())), never())).status).to.equal('sent');
      expect(smtp.received[0]?.user).to.equal('klaxon');
    } finally {
      await channel.close?.();
    }
  });

  it('reads refused credentials (535) as permanent', async () => {
    const channel = channelWith('wrong');
    try {
      const outcome = await channel.send(delivery(TO, render('email', escalation())), never());
      expect(outcome.status).to.equal('permanent');
      expect(outcome.status === 'permanent' && outcome.error).to.contain('SMTP 535');
    } finally {
      await channel.close?.();
    }
  });
});
