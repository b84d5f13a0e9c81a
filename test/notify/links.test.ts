/** Signed action links: bound to incident, person, action and expiry; keys rotate; every forgery refused. */
import { expect } from 'chai';
import { type ActionGrant, type ActionKey, assertActionKeys, signAction, verifyAction } from '../../src/notify/links.ts';
import { NOW } from './fixtures.ts';

const CURRENT: ActionKey = { id: 'k2', secret: 'current-secret-0123456789abcdef0123456789' };
const PREVIOUS: ActionKey = { id: 'k1', secret: 'previous-secret-0123456789abcdef012345678' };
const grant: ActionGrant = {
  incidentId: '8c0e3f5e-4c1a-4e51-9f57-4cf5f1f3a0b9',
  userId: '0f7f2f4e-55f5-4b43-9d55-3d1d1c3ce2a1',
  action: 'acknowledge',
  channel: 'email',
  notificationId: '4a0b6b8e-0d51-4f0b-9a3e-5e0a4a9b7c21',
};
const HOUR = 60 * 60_000;
const at = (ms: number) => new Date(NOW.getTime() + ms);

/** The token with its payload re-encoded after `change`, the signature left as it was. */
function tamper(token: string, change: (claims: Record<string, unknown>) => void): string {
  const [keyId, payload, mac] = token.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
  change(claims);
  return `${keyId}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${mac}`;
}

describe('signed action links', () => {
  const token = signAction(grant, { keys: [CURRENT, PREVIOUS], now: NOW });

  it('verifies to the grant it was signed for, with its expiry (24 h by default) and key', () => {
    expect(verifyAction(token, { keys: [CURRENT, PREVIOUS], now: at(HOUR) })).to.deep.equal({
      ...grant,
      expiresAt: at(24 * HOUR),
      keyId: 'k2',
    });
  });

  it('is URL-safe and short enough for a link or a Slack button value', () => {
    expect(token).to.match(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(token.length).to.be.below(300);
    expect(encodeURIComponent(token)).to.equal(token);
  });

  it('expires: valid a millisecond before its expiry, refused at it', () => {
    expect(verifyAction(token, { keys: [CURRENT], now: at(24 * HOUR - 1) })).to.not.have.property('refused');
    expect(verifyAction(token, { keys: [CURRENT], now: at(24 * HOUR) })).to.deep.equal({ refused: 'expired' });
    const short = signAction(grant, { keys: [CURRENT], now: NOW, ttlMs: 15 * 60_000 });
    expect(verifyAction(short, { keys: [CURRENT], now: at(15 * 60_000) })).to.deep.equal({ refused: 'expired' });
  });

  it('refuses a token whose incident, person, action or expiry was changed', () => {
    const keys = [CURRENT];
    for (const change of [
      (claims: Record<string, unknown>) => (claims.i = '00000000-0000-4000-8000-000000000000'),
      (claims: Record<string, unknown>) => (claims.u = '00000000-0000-4000-8000-000000000000'),
      (claims: Record<string, unknown>) => (claims.a = 'resolve'),
      (claims: Record<string, unknown>) => (claims.e = Number(claims.e) + 365 * 24 * 3600),
    ]) {
      expect(verifyAction(tamper(token, change), { keys, now: NOW })).to.deep.equal({ refused: 'bad_signature' });
    }
    const [keyId, payload, mac] = token.split('.') as [string, string, string];
    const flipped = `${mac.slice(0, -1)}${mac.endsWith('A') ? 'B' : 'A'}`;
    expect(verifyAction(`${keyId}.${payload}.${flipped}`, { keys, now: NOW })).to.deep.equal({ refused: 'bad_signature' });
  });

  it('refuses a token moved to another known key id (the key id is signed too)', () => {
    const moved = token.replace(/^k2\./, 'k1.');
    expect(verifyAction(moved, { keys: [CURRENT, PREVIOUS], now: NOW })).to.deep.equal({ refused: 'bad_signature' });
  });

  it('rotates: signs with the first key, still verifies tokens of a listed older key, refuses a retired key', () => {
    const old = signAction(grant, { keys: [PREVIOUS], now: NOW });
    expect(old.startsWith('k1.')).to.equal(true);
    expect(verifyAction(old, { keys: [CURRENT, PREVIOUS], now: NOW })).to.include({ keyId: 'k1', action: 'acknowledge' });
    expect(verifyAction(old, { keys: [CURRENT], now: NOW })).to.deep.equal({ refused: 'unknown_key' });
    expect(verifyAction(old, { keys: [{ id: 'k1', secret: 'a-different-secret-under-the-same-id!!' }], now: NOW })).to.deep.equal({ refused: 'bad_signature' });
  });

  it('refuses the token of one action on the other action', () => {
    expect(verifyAction(token, { keys: [CURRENT], now: NOW, expectAction: 'resolve' })).to.deep.equal({ refused: 'wrong_action' });
    expect(verifyAction(token, { keys: [CURRENT], now: NOW, expectAction: 'acknowledge' })).to.include({ action: 'acknowledge' });
  });

  it('refuses malformed tokens', () => {
    const keys = [CURRENT];
    for (const bad of ['', 'k2', 'k2.abc', 'k2.a.b.c', 'k2.a b.c', 'k2.=.c', `${token}.`, `.${token}`]) {
      expect(verifyAction(bad, { keys, now: NOW }), bad).to.deep.equal({ refused: 'malformed' });
    }
  });

  it('refuses a correctly signed payload that is not a grant (a bug, or a future format)', () => {
    // Signed by hand with the real key: only the shape is wrong.
    const notAGrant = signAction({ ...grant, channel: 'pigeon' as never }, { keys: [CURRENT], now: NOW });
    expect(verifyAction(notAGrant, { keys: [CURRENT], now: NOW })).to.deep.equal({ refused: 'malformed' });
  });

  it('leaves the notification out when there is none', () => {
    const bare = signAction({ ...grant, notificationId: null }, { keys: [CURRENT], now: NOW });
    expect(verifyAction(bare, { keys: [CURRENT], now: NOW })).to.include({ notificationId: null });
  });

  it('refuses unusable keys when configured: none, a short secret, a bad or duplicate id', () => {
    expect(() => assertActionKeys([])).to.throw(/at least one/);
    expect(() => assertActionKeys([{ id: 'k1', secret: 'short' }])).to.throw(/too short/);
    expect(() => assertActionKeys([{ id: 'k.1', secret: CURRENT.secret }])).to.throw(/must match/);
    expect(() => assertActionKeys([CURRENT, { ...PREVIOUS, id: 'k2' }])).to.throw(/twice/);
    expect(() => signAction(grant, { keys: [], now: NOW })).to.throw();
  });
});
