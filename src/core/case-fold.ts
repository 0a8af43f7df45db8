import type { Entry } from './entry.ts';
import { compareNames } from './path.ts';

/**
 * The key under which a case-insensitive file system finds a name. Folding both ways makes
 * more names equal than some file systems do (ß and ss, for one): a collision reported too
 * often costs a message, one missed costs a file.
 */
export function foldName(name: string): string {
  return name.normalize('NFC').toUpperCase().toLowerCase();
}

/** The names of a directory that another of its names equals but for case. */
export function caseCollisions(names: Iterable<string>): Map<string, string[]> {
  const byKey = new Map<string, string[]>();
  for (const name of names) {
    const key = foldName(name);
    const group = byKey.get(key);
    if (group) group.push(name);
    else byKey.set(key, [name]);
  }
  for (const [key, group] of byKey) if (group.length < 2) byKey.delete(key);
  return byKey;
}

/** One directory of a one-way run onto a case-insensitive target, as the diff should see it. */
export interface FoldedOneWay {
  src: Entry[];
  dst: Entry[];
  /** Source names that collide on the target, each with the names it collides with. */
  collisions: Map<string, string[]>;
  /**
   * Target names that only the target's case-insensitivity ties to a source name of the same
   * kind: renamed to the source's spelling (`dst` holds them under it).
   */
  renames: { from: Entry; to: Entry }[];
  /** Target names standing for colliding source names: never deleted as extras. */
  keep: Set<string>;
  /**
   * Source names whose target entry differs in case and in kind (a file `Ab` on A, a folder
   * `ab` on B): left alone on both sides, and reported.
   */
  kindClashes: { here: Entry; there: Entry }[];
}

/**
 * S23 for one-way runs onto a case-insensitive target. Two source names equal but for case
 * would land on one target name, the second overwriting the first: neither is copied, and
 * what the target has under that name stays. A target name equal to a source name but for
 * case is that source entry (a case-only rename on the source): it is renamed, then compared
 * as usual, never deleted as an extra while its replacement is written over it.
 */
export function foldOneWay(src: readonly Entry[], dst: readonly Entry[]): FoldedOneWay {
  const collisions = new Map<string, string[]>();
  const keys = caseCollisions(src.map((e) => e.name));
  for (const group of keys.values())
    for (const name of group)
      collisions.set(
        name,
        group.filter((n) => n !== name),
      );
  const srcByKey = new Map<string, Entry>();
  const exact = new Set<string>();
  for (const s of src) {
    exact.add(s.name);
    const key = foldName(s.name);
    if (!keys.has(key)) srcByKey.set(key, s);
  }
  const out: FoldedOneWay = {
    src: [],
    dst: [],
    collisions,
    renames: [],
    keep: new Set(),
    kindClashes: [],
  };
  let renamed = false;
  for (const d of dst) {
    const key = foldName(d.name);
    if (keys.has(key)) {
      out.keep.add(d.name);
      continue;
    }
    const s = srcByKey.get(key);
    if (s && !exact.has(d.name) && s.kind !== d.kind) {
      // Replacing it would address it by the source's spelling, which a FUSE file system
      // answers with another inode (every precondition fails), and a rename first would run
      // after the deletion of the kind change: both are left, and reported.
      out.kindClashes.push({ here: s, there: d });
      out.keep.add(d.name);
    } else if (s && !exact.has(d.name)) {
      out.renames.push({ from: d, to: s });
      out.dst.push({ ...d, name: s.name });
      renamed = true;
    } else out.dst.push(d);
  }
  if (renamed) out.dst.sort((x, y) => compareNames(x.name, y.name));
  const clashing = new Set(out.kindClashes.map((c) => c.here.name));
  out.src = src.filter((s) => !collisions.has(s.name) && !clashing.has(s.name));
  return out;
}

/**
 * S23 for two-way runs where a root is case-insensitive: the names of one directory that must
 * be left alone this run, each with the names it collides with. Names equal but for case
 * collide when one side holds several of them (the other side cannot), or when each side holds
 * one, spelled differently, and neither spelling is the ancestor's (both made it anew). One
 * side's spelling that is the ancestor's is a case-only rename on the other side: not a
 * collision, it travels as any rename does.
 */
export function caseConflicts(
  a: readonly { name: string }[],
  b: readonly { name: string }[],
  base: readonly { name: string }[],
): Map<string, string[]> {
  const groups = new Map<string, { a: string[]; b: string[]; base: string[] }>();
  const group = (name: string) => {
    const key = foldName(name);
    const g = groups.get(key) ?? { a: [], b: [], base: [] };
    groups.set(key, g);
    return g;
  };
  for (const e of a) group(e.name).a.push(e.name);
  for (const e of b) group(e.name).b.push(e.name);
  for (const e of base) group(e.name).base.push(e.name);
  const out = new Map<string, string[]>();
  for (const g of groups.values()) {
    const [x] = g.a;
    const [y] = g.b;
    const clash =
      g.a.length > 1 ||
      g.b.length > 1 ||
      (x !== undefined && y !== undefined && x !== y && !g.base.includes(x) && !g.base.includes(y));
    if (!clash) continue;
    const names = [...new Set([...g.a, ...g.b])];
    for (const n of names)
      out.set(
        n,
        names.filter((m) => m !== n),
      );
  }
  return out;
}
