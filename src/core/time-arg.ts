/**
 * Times and ages given on the command line (`restore --at`, `trash empty --older-than`,
 * `--keep-within`): DESIGN.md accepts ISO 8601 (`2026-11-20T10:00:00Z`; without an offset it
 * is local time, as a user reading a clock means it) or an age (`90m`, `36h`, `7d`).
 */

const UNIT_MS: Record<string, number> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
  y: 365 * 86_400_000,
};

const AGE = /^(\d+(?:\.\d+)?)([smhdwy])$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;
const ISO_DATE_TIME =
  /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$/i;

/** An age such as `30d` in milliseconds, or undefined when `text` is not one. */
export function parseAge(text: string): number | undefined {
  const m = AGE.exec(text.trim());
  if (!m) return undefined;
  return Math.round(Number(m[1]) * (UNIT_MS[m[2] as string] as number));
}

/**
 * A point in time (ms since the epoch), from an ISO 8601 time or an age counted back from
 * `nowMs`; undefined when `text` is neither. The caller names the option in its error.
 */
export function parseTimeArg(text: string, nowMs: number): number | undefined {
  const t = text.trim();
  const age = parseAge(t);
  if (age !== undefined) return nowMs - age;
  if (ISO_DATE.test(t)) return validMs(new Date(`${t}T00:00:00`).getTime());
  if (!ISO_DATE_TIME.test(t)) return undefined;
  // `Date` parses a date-time without an offset as local time, which is what we want.
  return validMs(new Date(t.replace(' ', 'T')).getTime());
}

function validMs(ms: number): number | undefined {
  return Number.isFinite(ms) ? ms : undefined;
}

/** What a user may type, for the hint of an error about a bad time or age. */
export const TIME_HINT =
  'give an ISO 8601 time such as 2026-11-20T10:00:00Z (local time without the Z) or an age such as 90m, 36h, 7d';
export const AGE_HINT = 'give an age such as 90m, 36h, 7d, 2w';
