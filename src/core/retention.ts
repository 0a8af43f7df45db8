/**
 * Which older versions of one path a retention policy keeps. Pure: the caller passes the
 * versions and the time. A version's age counts from the backup that replaced it (when it
 * stopped being current): that is how long ago it was the path's content, which is what a
 * restore at a past time needs.
 *
 * Laws (S26): the current version is never dropped; the newest older version of a path with no
 * current version (a deleted file) is never dropped, so a file always keeps one version; the
 * rules combine as a union (a version stays when any chosen rule keeps it); with no rule,
 * everything stays.
 */

export interface RetentionPolicy {
  /** The N newest older versions of each path. */
  keepLast?: number | undefined;
  /** Older versions replaced within this many milliseconds. */
  keepWithinMs?: number | undefined;
  /** Syncthing's buckets (staggeredBucket): at most one version each, the oldest. */
  keepStaggered?: boolean | undefined;
}

export interface VersionAge {
  id: number;
  /** When it stopped being current (ms since the epoch); undefined: it is the current one. */
  replacedMs: number | undefined;
}

const S = 1000;
const H = 3600 * S;
const D = 24 * H;
const W = 7 * D;
const Y = 365 * D;

/**
 * The staggered bucket of a version replaced `ageMs` ago: one per 30 s for the first hour,
 * per hour for the first day, per day for 30 days, per week up to a year; undefined beyond.
 */
export function staggeredBucket(ageMs: number): string | undefined {
  const age = Math.max(0, ageMs);
  if (age < H) return `s${Math.floor(age / (30 * S))}`;
  if (age < D) return `h${Math.floor(age / H)}`;
  if (age < 30 * D) return `d${Math.floor(age / D)}`;
  if (age < Y) return `w${Math.floor(age / W)}`;
  return undefined;
}

export function hasRules(p: RetentionPolicy | undefined): p is RetentionPolicy {
  return (
    p !== undefined &&
    (p.keepLast !== undefined || p.keepWithinMs !== undefined || p.keepStaggered === true)
  );
}

/** The ids of the versions of one path that the policy drops. */
export function versionsToDrop(
  versions: readonly VersionAge[],
  policy: RetentionPolicy | undefined,
  nowMs: number,
): number[] {
  if (!hasRules(policy)) return [];
  // Newest first; equal times by id (later rows are newer).
  const older = versions
    .filter((v): v is VersionAge & { replacedMs: number } => v.replacedMs !== undefined)
    .sort((x, y) => y.replacedMs - x.replacedMs || y.id - x.id);
  const keep = new Set<number>();
  if (policy.keepLast !== undefined)
    for (const v of older.slice(0, policy.keepLast)) keep.add(v.id);
  if (policy.keepWithinMs !== undefined)
    for (const v of older) if (nowMs - v.replacedMs <= policy.keepWithinMs) keep.add(v.id);
  if (policy.keepStaggered) {
    // Walking newest to oldest, the last version seen in a bucket is its oldest.
    const oldestIn = new Map<string, number>();
    for (const v of older) {
      const b = staggeredBucket(nowMs - v.replacedMs);
      if (b !== undefined) oldestIn.set(b, v.id);
    }
    for (const id of oldestIn.values()) keep.add(id);
  }
  const hasCurrent = versions.some((v) => v.replacedMs === undefined);
  const newest = older[0];
  if (!hasCurrent && newest) keep.add(newest.id);
  return older.filter((v) => !keep.has(v.id)).map((v) => v.id);
}
