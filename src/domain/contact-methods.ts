/**
 * How a person is reached (issue 11): their contact methods, the rules saying when each
 * is used after a page, and the verification of phone numbers. Pure: the address rules
 * of each kind, the verification's bounds, and the errors the commands raise.
 *
 * The database holds the same address shapes as a CHECK (the notifications migration);
 * the rules here are stricter (a teams or webhook URL must be https, a domain in an
 * e-mail address) and say in words what is wrong.
 */
import { ConflictError, DomainError, type FieldIssue } from './errors.ts';
import { type ChannelKind, VERIFIED_CHANNELS } from './notifications.ts';

export interface ContactMethod {
  id: string;
  userId: string;
  kind: ChannelKind;
  /** E-mail address, E.164 number, Slack member id, URL; '' for in_app. */
  address: string;
  label: string | null;
  /** The order fallbacks follow (lowest first). */
  position: number;
  /** Null: not usable yet (an sms or voice number not yet confirmed). */
  verifiedAt: Date | null;
  /** A code was sent and may still be confirmed until then (null: none pending). */
  verificationExpiresAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface NotificationRule {
  id: string;
  userId: string;
  contactMethodId: string;
  delayMs: number;
  createdAt: Date;
}

/** The kinds whose methods are used only once verified (a typo must not page a stranger). */
export function needsVerification(kind: ChannelKind): boolean {
  return VERIFIED_CHANNELS.includes(kind);
}

/** The highest position; a new method goes last, after the others, up to this. */
export const MAX_POSITION = 1000;

/** A verification code: 6 digits, valid 10 minutes, void after 5 wrong guesses, re-sent at most once a minute. */
export const VERIFICATION = {
  digits: 6,
  ttlMs: 10 * 60_000,
  maxAttempts: 5,
  resendIntervalMs: 60_000,
} as const;

// Addresses -------------------------------------------------------------------------------

const E164 = /^\+[1-9][0-9]{6,14}$/;
/** Slack member ids: U... (users) or W... (Enterprise Grid users), upper case. */
const SLACK_MEMBER = /^[UW][A-Z0-9]{2,20}$/;
/**
 * ajv-formats' "fast" e-mail shape (what the users endpoint checks `email` with), so a
 * person's own address and their e-mail methods follow one rule.
 */
const EMAIL = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/i;
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);
export const MAX_ADDRESS_LENGTH = 2048;
export const MAX_EMAIL_LENGTH = 320;

/**
 * What is wrong with `address` for a method of `kind`, as a field issue on `field`; null
 * when it is fine.
 *
 * URLs (teams, webhook) must be https: they carry signed payloads and acknowledge links.
 * Plain http is accepted for a loopback host only (localhost, 127.0.0.1, [::1]), for a
 * receiver on the same machine and for the test stand-ins. Credentials in the URL are
 * refused: a URL is shown by the API and written to logs.
 */
export function addressIssue(kind: ChannelKind, address: string, field = 'address'): FieldIssue | null {
  const issue = (rule: string, message: string): FieldIssue => ({ field, rule, message });
  switch (kind) {
    case 'in_app':
      return address === '' ? null : issue('in_app', 'an in_app method has no address: leave it out or send ""');
    case 'email':
      if (address.length > MAX_EMAIL_LENGTH) return issue('maxLength', `must be at most ${MAX_EMAIL_LENGTH} characters`);
      return EMAIL.test(address) ? null : issue('email', 'must look like an email address, such as ada@example.com');
    case 'sms':
    case 'voice':
      return E164.test(address) ? null : issue('e164', 'must be an E.164 phone number: + and 7 to 15 digits, such as +4915112345678');
    case 'slack':
      return SLACK_MEMBER.test(address)
        ? null
        : issue('slack_member_id', 'must be a Slack member id: U or W and 2 to 20 upper-case letters or digits, such as U024BE7LH');
    case 'teams':
    case 'webhook':
      return urlIssue(address, issue);
  }
}

function urlIssue(address: string, issue: (rule: string, message: string) => FieldIssue): FieldIssue | null {
  if (address.length > MAX_ADDRESS_LENGTH) return issue('maxLength', `must be at most ${MAX_ADDRESS_LENGTH} characters`);
  // Spaces and control characters would be percent-encoded by the URL parser: the URL
  // stored would not be the one sent.
  if (!/^[\x21-\x7e]+$/.test(address)) return issue('url', 'must be an absolute URL of printable ASCII characters (percent-encode the others)');
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    return issue('url', 'must be an absolute URL, such as https://hooks.example.com/klaxon');
  }
  if (url.username !== '' || url.password !== '') return issue('url_credentials', 'must not carry a user name or password (put a secret in the path or query)');
  if (url.protocol === 'https:') return null;
  if (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)) return null;
  return issue('https', 'must be an https URL (http only for localhost, 127.0.0.1 or [::1])');
}

// Errors ------------------------------------------------------------------------------------

/** A new code was asked for less than a minute after the last one: 429 with Retry-After. */
export class VerificationTooSoonError extends DomainError {
  readonly code = 'verification_too_soon';
  constructor(readonly retryAfterSeconds: number) {
    super(`a code was sent less than a minute ago; ask again in ${retryAfterSeconds} s`);
  }
}

/** The method cannot be verified now: not a kind that needs it, already verified, no code pending, or void. */
export function verificationConflict(code: 'not_verifiable' | 'already_verified' | 'no_verification_pending' | 'verification_void', message: string) {
  return new ConflictError(code, message);
}
