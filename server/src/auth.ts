// Who may join: the app (on Vercel) signs a short-lived JWT (HS256) naming the user and the
// spaces they may enter; the server checks it at the handshake and on every join, and takes the
// display name from it, not from the client. The previous signing key stays valid until
// AUTH_PREVIOUS_UNTIL, so a key rotation does not cut off tokens the app signed just before.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const AUDIENCE = 'flowspace-socket';
const LEEWAY_SECONDS = 30;
const MAX_LIFETIME_SECONDS = 24 * 3600;

export interface AuthKeys { current: string; previous?: string; previousUntil?: number }

export interface User { id: string; name: string; spaces: string[] | '*' }

export type Verified = { ok: true; user: User } | { ok: false; error: string };

function base64url(input: Buffer | string): string {
  return Buffer.from(input).toString('base64url');
}

export function sign(claims: Record<string, unknown>, secret: string): string {
  const head = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const body = base64url(JSON.stringify(claims));
  const signature = createHmac('sha256', secret).update(`${head}.${body}`).digest();
  return `${head}.${body}.${base64url(signature)}`;
}

function signedWith(token: string, secret: string): boolean {
  const cut = token.lastIndexOf('.');
  const expected = createHmac('sha256', secret).update(token.slice(0, cut)).digest();
  const given = Buffer.from(token.slice(cut + 1), 'base64url');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export function verify(token: unknown, keys: AuthKeys, now = Date.now() / 1000): Verified {
  if (typeof token !== 'string' || token.split('.').length !== 3 || token.length > 8192) {
    return { ok: false, error: 'unauthorized: a token signed by the app is required' };
  }
  let header: Record<string, unknown>;
  let claims: Record<string, unknown>;
  try {
    const [head, body] = token.split('.');
    header = JSON.parse(Buffer.from(head, 'base64url').toString());
    claims = JSON.parse(Buffer.from(body, 'base64url').toString());
  } catch {
    return { ok: false, error: 'unauthorized: malformed token' };
  }
  if (header.alg !== 'HS256') return { ok: false, error: 'unauthorized: the token must be HS256' };
  const previousValid = keys.previous !== undefined && (keys.previousUntil ?? 0) > now;
  if (!signedWith(token, keys.current) && !(previousValid && signedWith(token, keys.previous!))) {
    return { ok: false, error: 'unauthorized: bad signature' };
  }
  const { sub, name, spaces, exp, aud } = claims;
  if (aud !== AUDIENCE) return { ok: false, error: `unauthorized: the token's aud must be "${AUDIENCE}"` };
  if (typeof exp !== 'number' || exp + LEEWAY_SECONDS < now) return { ok: false, error: 'unauthorized: token expired' };
  if (exp > now + MAX_LIFETIME_SECONDS) return { ok: false, error: 'unauthorized: token lives too long' };
  if (typeof sub !== 'string' || sub.length === 0 || sub.length > 128) {
    return { ok: false, error: 'unauthorized: the token names no user (sub)' };
  }
  if (typeof name !== 'string') return { ok: false, error: 'unauthorized: the token names no display name' };
  const allowed = spaces === '*' ? '*'
    : Array.isArray(spaces) && spaces.every((s) => typeof s === 'string') ? spaces as string[] : undefined;
  if (allowed === undefined) return { ok: false, error: 'unauthorized: the token lists no spaces' };
  return { ok: true, user: { id: sub, name, spaces: allowed } };
}

export function mayEnter(user: User, spaceId: string): boolean {
  return user.spaces === '*' || user.spaces.includes(spaceId);
}
