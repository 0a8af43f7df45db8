/**
 * The trash of a root, as the local endpoint lays it out: `ROOT/.concord/trash/<run>/<path>`,
 * where `<run>` is the UTC time of the run that trashed it (`yyyymmdd-hhmmss`, then `-2`,
 * `-3` for later runs in the same second), and a name already taken in that run gets `~2`,
 * `~3` (endpoint/local/local.ts freeName). A removed directory leaves an empty directory.
 * Pure: names and items in, decisions out; reading the disk is read.ts.
 */
import {
  comparePaths,
  isWithin,
  NAME_MAX,
  numberedName,
  type RelPath,
  STATE_DIR,
  utf8Length,
} from '../core/path.ts';

/** Where the trash lives, relative to its root. */
export const TRASH_DIR = `${STATE_DIR}/trash`;

/** How long a run's trash is kept when nobody empties it: 30 days. */
export const TRASH_EXPIRY_MS = 30 * 86_400_000;

/** One run's directory in the trash. `seq` orders runs of the same second (1, 2, 3...). */
export interface TrashRun {
  name: string;
  ms: number;
  seq: number;
}

export type TrashKind = 'file' | 'dir' | 'symlink';

/** One trashed version of one path. */
export interface TrashItem {
  /** The path it had in the root, relative to the root. */
  path: RelPath;
  kind: TrashKind;
  size: number;
  run: TrashRun;
  /** 1 for `name`, N for `name~N`: later versions of the same path in the same run. */
  version: number;
  /** Where it sits, relative to the trash directory: `<run>/<path>[~N]`. */
  stored: string;
}

const RUN_NAME = /^(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})(?:-(\d+))?$/;

/** The directory name of a run at `at` (without the `-N` a second run in that second gets). */
export function runDirName(at: Date): string {
  return at.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
}

/** A run directory's time and order, or undefined when `name` is not one of ours. */
export function parseRunName(name: string): TrashRun | undefined {
  const m = RUN_NAME.exec(name);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number) as [number, ...number[]];
  const ms = Date.UTC(y, (mo as number) - 1, d, h, mi, s);
  // Date.UTC rolls 20261340 over into a later month: such a name is not a stamp we wrote.
  if (runDirName(new Date(ms)) !== name.slice(0, 15)) return undefined;
  const seq = m[7] === undefined ? 1 : Number(m[7]);
  return seq >= 2 || m[7] === undefined ? { name, ms, seq } : undefined;
}

const VERSION = /^(.+)~([1-9]\d*)$/;

/**
 * The path name and version of a trashed non-directory called `name` in a directory holding
 * `siblings`. `x~2` is a second version of `x` only when `x` is there too, since freeName
 * gives `~N` only to a name already taken. (A user's own `x~2` trashed in the same run as
 * `x` reads as a version of `x`: restoring it never overwrites, so it is misnamed, not lost.)
 */
export function versionOf(
  name: string,
  siblings: ReadonlySet<string>,
): { name: string; version: number } {
  const m = VERSION.exec(name);
  const n = m ? Number(m[2]) : 0;
  if (m && n >= 2 && siblings.has(m[1] as string)) return { name: m[1] as string, version: n };
  // A name too long to take `~N` whole was cut first (numberedName): the sibling it came from.
  // (Only a name that ends within one code point of NAME_MAX can have been cut.)
  if (m && n >= 2 && utf8Length(name) > NAME_MAX - 4)
    for (const s of siblings)
      if (s !== name && numberedName(s, n) === name) return { name: s, version: n };
  return { name, version: 1 };
}

/** Older first: run time, then the run's order within its second, then the `~N` version. */
export function compareAge(a: TrashItem, b: TrashItem): number {
  return a.run.ms - b.run.ms || a.run.seq - b.run.seq || a.version - b.version;
}

/** The order of `trash list`: by path (parents first), then oldest first. */
export function compareItems(a: TrashItem, b: TrashItem): number {
  return comparePaths(a.path, b.path) || compareAge(a, b);
}

export type Pick =
  | { ok: true; items: TrashItem[] }
  | { ok: false; reason: 'unknown' }
  | { ok: false; reason: 'too-early'; oldestMs: number };

/**
 * What `trash restore PATH [--at]` puts back: for every trashed path at or under `target`
 * ('' for all), its newest version trashed at or before `atMs` (a run's time is its second).
 * When a file and paths under a directory of the same name were both trashed, the side
 * trashed last wins (the tree as it was last seen); the other stays in the trash.
 * Law: at most one item per path, none newer than `atMs`, and no item below a non-directory.
 */
export function pickRestore(
  items: readonly TrashItem[],
  target: RelPath,
  atMs: number | undefined,
): Pick {
  const under = items.filter(
    (i) => isWithin(i.path, target) && !isWithin(i.path, STATE_DIR) && i.path !== '',
  );
  if (under.length === 0) return { ok: false, reason: 'unknown' };
  const eligible = atMs === undefined ? under : under.filter((i) => i.run.ms <= atMs);
  if (eligible.length === 0)
    return { ok: false, reason: 'too-early', oldestMs: Math.min(...under.map((i) => i.run.ms)) };
  const newest = new Map<RelPath, TrashItem>();
  for (const i of eligible) {
    const seen = newest.get(i.path);
    if (!seen || compareAge(i, seen) > 0) newest.set(i.path, i);
  }
  const sorted = [...newest.values()].sort(compareItems);
  const out: TrashItem[] = [];
  for (let k = 0; k < sorted.length; k++) {
    const item = sorted[k] as TrashItem;
    if (item.kind === 'dir') {
      out.push(item);
      continue;
    }
    // Parents sort first, so what lies below `item` follows it directly.
    let end = k + 1;
    while (end < sorted.length && isWithin((sorted[end] as TrashItem).path, item.path)) end++;
    if (end === k + 1) {
      out.push(item);
      continue;
    }
    const below = sorted.slice(k + 1, end);
    const latestBelow = below.reduce((a, b) => (compareRun(a, b) >= 0 ? a : b));
    if (compareRun(item, latestBelow) > 0) {
      out.push(item);
      k = end - 1;
    }
  }
  return { ok: true, items: out };
}

function compareRun(a: TrashItem, b: TrashItem): number {
  return a.run.ms - b.run.ms || a.run.seq - b.run.seq;
}
