// Incoming payloads are untrusted: each validator returns the clean value or an error text.
import { checkName } from './names';

export type Checked<T> = { ok: true; value: T } | { ok: false; error: string };

export interface Position { x: number; y: number }
export interface Join { spaceId: string; name: string; position: Position }

const SPACE_ID = /^[A-Za-z0-9_-]{1,64}$/;
const LIMIT = 1_000_000;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function coordinate(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && Math.abs(value) <= LIMIT;
}

export function checkPosition(payload: unknown): Checked<Position> {
  if (!isObject(payload) || !coordinate(payload.x) || !coordinate(payload.y)) {
    return { ok: false, error: `position must be {x, y} with finite numbers within ±${LIMIT}` };
  }
  return { ok: true, value: { x: payload.x, y: payload.y } };
}

export function checkJoin(payload: unknown): Checked<Join> {
  if (!isObject(payload)) return { ok: false, error: 'space:join expects {spaceId, name, position?}' };
  if (typeof payload.spaceId !== 'string' || !SPACE_ID.test(payload.spaceId)) {
    return { ok: false, error: 'spaceId must be 1-64 letters, digits, _ or -' };
  }
  const name = checkName(payload.name);
  if (!name.ok) return name;
  const position = payload.position === undefined ? { ok: true as const, value: { x: 0, y: 0 } }
    : checkPosition(payload.position);
  if (!position.ok) return position;
  return { ok: true, value: { spaceId: payload.spaceId, name: name.value, position: position.value } };
}

export function checkChat(payload: unknown, maxLength: number): Checked<string> {
  const text = isObject(payload) && typeof payload.text === 'string' ? payload.text.trim() : undefined;
  if (text === undefined || text.length === 0) return { ok: false, error: 'chat:message expects {text}' };
  if (text.length > maxLength) return { ok: false, error: `text is longer than ${maxLength} characters` };
  return { ok: true, value: text };
}
