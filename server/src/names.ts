// Display names as other members will see them: normalised, nothing invisible or
// direction-changing, and two members of a space never shown under the same name.
import type { Checked } from './validation';

// Control and format characters (zero-width spaces and joiners, bidi overrides and isolates,
// BOM, soft hyphen...) cannot be displayed honestly; they are refused, not silently dropped.
const HIDDEN = /[\p{Cc}\p{Cf}\p{Co}\p{Cn}\u2028\u2029]/u;
const MAX_LENGTH = 32;

export function checkName(raw: unknown): Checked<string> {
  if (typeof raw !== 'string') return { ok: false, error: `name must be 1-${MAX_LENGTH} characters` };
  const name = raw.normalize('NFC').replace(/\s+/gu, ' ').trim();
  if (HIDDEN.test(name)) {
    return { ok: false, error: 'name must not hold invisible, control or direction-changing characters' };
  }
  const length = [...name].length;
  if (length < 1 || length > MAX_LENGTH) return { ok: false, error: `name must be 1-${MAX_LENGTH} characters` };
  return { ok: true, value: name };
}

// `name`, or `name (2)`, `name (3)`... whichever no member of the space has (case-insensitive).
export function distinctName(name: string, taken: Iterable<string>): string {
  const used = new Set([...taken].map((n) => n.toLocaleLowerCase()));
  if (!used.has(name.toLocaleLowerCase())) return name;
  for (let n = 2; ; n += 1) {
    const candidate = `${name} (${n})`;
    if (!used.has(candidate.toLocaleLowerCase())) return candidate;
  }
}
