import type { Entry } from './entry.ts';
import {
  KIND_FILE,
  KINDS,
  type PackedEntries,
  packedNames,
  packedStatKey,
  W_KIND,
  WORDS,
} from './packed.ts';

/**
 * A directory's shape: per entry in name order `name/kind/` and, for files, the stat key
 * `dev:ino:size:mtimeSec.ns:ctimeSec.ns`, joined by NUL (no name holds NUL or '/'). Equal shapes
 * mean the same entries with the same (dev, inode, size, mtime, ctime): for files, content no
 * one has touched since (hash-reuse.ts says why ctime makes that hold). Made from packed words
 * without BigInt, or from entries: both forms agree for times after 1970 (before it the forms
 * differ, and the slow path decides).
 */
export function packedShape(p: PackedEntries, dev: string): string | undefined {
  const names = packedNames(p);
  const parts: string[] = new Array(names.length);
  for (let i = 0; i < names.length; i++) {
    const kind = p.words[i * WORDS + W_KIND] as number;
    if (kind !== KIND_FILE) {
      parts[i] = `${names[i]}/${kind}/`;
      continue;
    }
    const key = packedStatKey(p, i, dev);
    if (key === undefined) return undefined;
    parts[i] = `${names[i]}/${kind}/${key}`;
  }
  return parts.join('\0');
}

const NS = 1_000_000_000n;

export function entriesShape(entries: readonly Entry[], dev: bigint): string {
  return entries
    .map((e) => {
      const kind = KINDS.indexOf(e.kind);
      if (e.kind !== 'file') return `${e.name}/${kind}/`;
      const m = `${e.mtimeNs / NS}.${e.mtimeNs % NS}`;
      const c = `${e.ctimeNs / NS}.${e.ctimeNs % NS}`;
      return `${e.name}/${kind}/${dev}:${e.ino}:${e.size}:${m}:${c}`;
    })
    .join('\0');
}
