/**
 * A real SMTP server (smtp-server) on 127.0.0.1, plain text (no TLS on loopback), AUTH
 * optional, that parses what it receives (mailparser) and records it. Tests script
 * refusals at RCPT or after DATA (any reply code) and a hang after DATA (no answer).
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { track } from '../leaks.ts';
import { waitFor } from '../waiting.ts';

export interface ReceivedMail {
  /** The envelope, as given by MAIL FROM and RCPT TO. */
  from: string;
  to: string[];
  /** Who authenticated (null: nobody). */
  user: string | null;
  parsed: ParsedMail;
}

export type SmtpAnswer =
  /** Refuse the next recipient with this reply. */
  | { at: 'rcpt'; code: number; message?: string }
  /** Refuse the next message after its DATA with this reply. */
  | { at: 'data'; code: number; message?: string }
  /** Take the next message's DATA and never answer. */
  | { at: 'data'; hang: true };

export interface SmtpStandIn {
  readonly host: string;
  readonly port: number;
  /** Accepted messages, parsed. */
  readonly received: ReceivedMail[];
  /** Every message that reached the end of DATA, accepted or not. */
  readonly dataCount: () => number;
  script(...answers: SmtpAnswer[]): void;
  waitForMail(count: number): Promise<void>;
  close(): Promise<void>;
}

export async function startSmtpStandIn({ auth }: { auth?: { user: string; pass: string } } = {}): Promise<SmtpStandIn> {
  const received: ReceivedMail[] = [];
  const atRcpt: SmtpAnswer[] = [];
  const atData: SmtpAnswer[] = [];
  let reachedData = 0;
  const refusal = (code: number, message = `refused with ${code}`) => Object.assign(new Error(message), { responseCode: code });

  const server = new SMTPServer({
    secure: false,
    disabledCommands: auth ? ['STARTTLS'] : ['STARTTLS', 'AUTH'],
    authOptional: !auth,
    allowInsecureAuth: true, // loopback: AUTH PLAIN without TLS
    logger: false,
    disableReverseLookup: true, // no DNS in tests
    closeTimeout: 100,
    onAuth(login, _session, callback) {
      if (auth && login.username === auth.user && login.password === auth.pass) return callback(null, { user: login.username });
      return callback(refusal(535, 'Authentication credentials invalid'));
    },
    onRcptTo(_address, _session, callback) {
      const answer = atRcpt.shift();
      if (answer && 'code' in answer) return callback(refusal(answer.code, answer.message));
      return callback();
    },
    onData(stream, session, callback) {
      const answer = atData.shift();
      simpleParser(stream).then(
        (parsed) => {
          reachedData += 1;
          if (answer && 'hang' in answer) return; // no reply: the client's timeout or signal must end it
          if (answer) return callback(refusal(answer.code, answer.message));
          const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
          const user = typeof session.user === 'string' ? session.user : null;
          received.push({ from, to: session.envelope.rcptTo.map((rcpt) => rcpt.address), user, parsed });
          callback();
        },
        (error: Error) => callback(error),
      );
    },
  });

  server.listen(0, '127.0.0.1');
  await once(server.server, 'listening');
  const untrack = track('SMTP stand-in');
  const { port } = server.server.address() as AddressInfo;
  return {
    host: '127.0.0.1',
    port,
    received,
    dataCount: () => reachedData,
    script: (...answers) => {
      for (const answer of answers) (answer.at === 'rcpt' ? atRcpt : atData).push(answer);
    },
    waitForMail: (count) => waitFor(`${count} messages at the SMTP stand-in`, () => received.length >= count),
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      untrack();
    },
  };
}
