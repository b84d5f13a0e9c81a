/**
 * E-mail over SMTP (nodemailer), plain text and HTML alternatives.
 *
 * Delivery guarantee: at least once, recognisably once. "Sent" means the SMTP server
 * accepted the message for the recipient (250 after DATA); whether it reaches the inbox
 * is the mail system's business (a later bounce is not seen here). A 4xx reply, a
 * refused or dropped connection, a TLS failure and a timeout are transient; a 5xx reply
 * (unknown mailbox, refused sender, failed authentication) is permanent. Every attempt
 * of one notification carries the same Message-ID, derived from its idempotency key: a
 * re-send after a crash or a timeout after DATA (the server may have taken it) is the
 * same message to every mail client and to servers that drop duplicate Message-IDs.
 *
 * The headers say it is automatic (RFC 3834 Auto-Submitted, and Exchange's
 * X-Auto-Response-Suppress), so out-of-office replies do not answer a page.
 */
import { createHash } from 'node:crypto';
import nodemailer, { type NodemailerError, type Transporter } from 'nodemailer';
import { type Channel, type Delivery, type DeliveryOutcome, type EmailMessage, permanent, sent, transient } from './channel.ts';

export interface EmailChannelOptions {
  host: string;
  port: number;
  /** Implicit TLS from the first byte (port 465). False: plain, upgraded by STARTTLS when offered. */
  secure: boolean;
  /** Refuse to send unless STARTTLS succeeds (for a relay across a network). */
  requireTls?: boolean;
  auth?: { user: string; pass: string };
  /** The From address, e.g. `klaxon <pager@example.com>`. */
  from: string;
  /** The domain of the Message-IDs; default the From address's domain. */
  messageIdDomain?: string;
  /** Connecting, the greeting and any silence after it; defaults 10 s, 10 s, 30 s. */
  connectionTimeoutMs?: number;
  greetingTimeoutMs?: number;
  socketTimeoutMs?: number;
  /** Reuse connections (default true): a page must not wait for a TCP and TLS handshake each time. */
  pool?: boolean;
  /** Verify the server's certificate (default true; false only for a relay on a private network). */
  rejectUnauthorized?: boolean;
}

export function createEmailChannel(options: EmailChannelOptions): Channel<'email'> {
  const domain = options.messageIdDomain ?? /@([^>\s]+)>?\s*$/.exec(options.from)?.[1];
  if (!domain) throw new Error(`cannot tell the domain of the From address ${JSON.stringify(options.from)}: set messageIdDomain`);
  const transport: Transporter = nodemailer.createTransport({
    host: options.host,
    port: options.port,
    secure: options.secure,
    requireTLS: options.requireTls ?? false,
    auth: options.auth,
    pool: options.pool ?? true,
    connectionTimeout: options.connectionTimeoutMs ?? 10_000,
    greetingTimeout: options.greetingTimeoutMs ?? 10_000,
    socketTimeout: options.socketTimeoutMs ?? 30_000,
    tls: { rejectUnauthorized: options.rejectUnauthorized ?? true },
  });
  return {
    kind: 'email',
    async send(delivery: Delivery<EmailMessage>, signal: AbortSignal): Promise<DeliveryOutcome> {
      const { subject, text, html } = delivery.message;
      try {
        const info = (await transport.sendMail({
          from: options.from,
          to: delivery.destination,
          subject,
          text,
          html,
          messageId: emailMessageId(delivery.idempotencyKey, domain),
          headers: {
            'Auto-Submitted': 'auto-generated',
            'X-Auto-Response-Suppress': 'All',
            'X-Klaxon-Notification-Id': delivery.notificationId,
          },
          signal,
        })) as { messageId?: unknown };
        return sent(typeof info.messageId === 'string' ? info.messageId : null);
      } catch (error) {
        return classifySmtpError(error as NodemailerError);
      }
    },
    close: () => Promise.resolve(transport.close()),
  };
}

/**
 * `<hex@domain>`: a hash of the idempotency key, so any key (with colons, spaces, a
 * person's id) makes a valid Message-ID and every attempt of one notification the same one.
 */
export function emailMessageId(idempotencyKey: string, domain: string): string {
  return `<${createHash('sha256').update(idempotencyKey, 'utf8').digest('hex').slice(0, 32)}.klaxon@${domain}>`;
}

function classifySmtpError(error: NodemailerError): DeliveryOutcome {
  const reply = error.response ? `: ${error.response.slice(0, 200)}` : '';
  if (typeof error.responseCode === 'number') {
    const said = `SMTP ${error.responseCode}${error.command ? ` after ${error.command}` : ''}${reply}`;
    // nodemailer reads the reply class: 5xx permanent, except 503 (a session in the wrong
    // state, not a refusal of the message), 4xx transient (RFC 5321 §4.2.1).
    const isPermanent = error.permanent ?? (error.responseCode >= 500 && error.responseCode !== 503);
    return isPermanent ? permanent(said) : transient(said);
  }
  switch (error.code) {
    // The message or the configuration is wrong: no attempt will do better.
    case 'EENVELOPE':
    case 'ENOAUTH':
    case 'ECONFIG':
    case 'EMESSAGE':
      return permanent(`${error.code}: ${error.message}`);
    // Cancelled (the lease or shutdown): the server may have the message already; the
    // retry carries the same Message-ID.
    case 'EABORT':
      return transient(`aborted: ${error.message}`);
    // ECONNECTION, ETIMEDOUT, ESOCKET, EDNS, ETLS, EPROTOCOL and whatever else: the way
    // there failed, not the message.
    default:
      return transient(`${error.code ?? 'error'}: ${error.message}`);
  }
}
