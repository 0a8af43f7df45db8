import type { Entry } from '../core/entry.ts';
import { isRacy, reusableHash, stampKey } from '../core/hash-reuse.ts';
import { type PackedEntries, packedCount } from '../core/packed.ts';
import { join, type RelPath } from '../core/path.ts';
import type { FileIndex, IndexRow } from '../index/file-index.ts';
import { nodeCrypto } from '../node-crypto.ts';
import { listingDigest } from './listing-digest.ts';

/** A root's file index as a scan uses it: hashes to reuse, and rows to bring up to date. */
export interface HashCache {
  index: FileIndex;
  /** The root's device: rows are keyed by the device of the root they were seen under. */
  dev: bigint;
  /** Wall clock, ns since the epoch: when hashed bytes were read (racy check). */
  nowNs: () => bigint;
  /** Wall clock, ms: when a row was seen. */
  nowMs: () => number;
  /**
   * Rows of entries found gone, removed by finishScan: until the walk ends, a directory that
   * vanished here may turn up renamed further on, and its files are found by inode.
   */
  gone?: { dir: RelPath; name: string; isDir: boolean }[];
}

/** Removes the rows of what the scan found gone and commits. */
export function finishScan(cache: HashCache): void {
  for (const g of cache.gone ?? []) {
    cache.index.remove(g.dir, g.name);
    if (g.isDir) cache.index.removeTree(join(g.dir, g.name));
  }
  cache.gone = [];
  cache.index.flush();
}

/**
 * The fast path of a --checksum scan for a directory whose listing is packed: the digest of
 * its files' hashes (in entry order), when the directory's digest row was written for a
 * listing with the same digest (listing-digest.ts) on the same device; two sides with equal
 * hash digests hold the same content. Undefined otherwise: the caller then takes the slow
 * path (DirCache), which reads what must be read and writes the digest again.
 */
export function indexedHashes(
  cache: HashCache,
  dir: RelPath,
  p: PackedEntries,
): string | undefined {
  const d = cache.index.digest(dir);
  return d && d.shape === shapeOf(cache, p) ? d.hashes : undefined;
}

/**
 * What a digest row is written for: the root's device (rows are keyed by it, as hashes are)
 * and the listing's digest, which the native lister takes on its own thread: building a text
 * of every file's stat key and hashing it here cost a --checksum no-op ~100 ms of the main
 * thread for 100,000 entries.
 */
function shapeOf(cache: HashCache, p: PackedEntries): string {
  return `${cache.dev}:${listingDigest(p)}`;
}

/**
 * A short digest of a directory's hash list (sha1, native): rows of a few KB spill into
 * overflow pages, and reading one took ~60 us where a 60-byte row takes a few.
 */
function digestOf(text: string): string {
  return nodeCrypto().createHash('sha1').update(text).digest('base64');
}

/** One directory of a scan against the index. */
export class DirCache {
  readonly dir: RelPath;
  private readonly cache: HashCache;
  private readonly known: Map<string, IndexRow>;
  /** Hashes read during this scan, with when they were read. */
  private readonly fresh = new Map<string, bigint>();
  /** Rows whose hash was reused, by the name of the entry that took it. */
  private readonly reusedFrom = new Map<string, IndexRow>();

  constructor(cache: HashCache, dir: RelPath) {
    this.cache = cache;
    this.dir = dir;
    this.known = cache.index.dir(dir);
  }

  get reused(): number {
    return this.reusedFrom.size;
  }

  /** Sets `hash` on the files whose remembered hash still holds; returns those still unknown. */
  fill(entries: readonly Entry[]): Entry[] {
    const unknown: Entry[] = [];
    const { dev, index } = this.cache;
    for (const e of entries) {
      if (e.kind !== 'file' || e.hash !== undefined) continue;
      // Keys only for files with a row to hold them against: kept for a directory of 100,000
      // new files, they were ~70 MB of a first --checksum run's peak (each a tree of strings).
      let from = this.known.get(e.name);
      let hash = from && reusableHash(from, e, stampKey(e, dev));
      // Files of a renamed directory keep inode and ctime: found by inode, their hash holds.
      if (hash === undefined && !from?.stat.startsWith(`${dev}:${e.ino}:`)) {
        from = index.byInode(dev, e.ino);
        hash = from && reusableHash(from, e, stampKey(e, dev));
      }
      if (hash === undefined || !from) unknown.push(e);
      else {
        e.hash = hash;
        this.reusedFrom.set(e.name, from);
      }
    }
    return unknown;
  }

  /** A hashFile (hashOrReport's) that reads through `read` and remembers as hash() does. */
  through(
    read: (path: RelPath, e: Entry) => Promise<string>,
  ): (path: RelPath, e: Entry) => Promise<string> {
    return (_, e) => this.hash(e, read);
  }

  /**
   * Hashes `e` through `hashFile`, remembering when the bytes were read. A promise chain, not an
   * async function: one suspended per file allocated ~1 KB (~100 MB in a first --checksum run
   * of 50,000 files).
   */
  hash(e: Entry, hashFile: (path: RelPath, e: Entry) => Promise<string>): Promise<string> {
    const at = this.cache.nowNs();
    return hashFile(join(this.dir, e.name), e).then((hash) => {
      e.hash = hash;
      this.fresh.set(e.name, at);
      return hash;
    });
  }

  /**
   * Writes what the scan saw of this directory: rows that changed, new rows, and removal of
   * entries that are gone (a gone directory takes its subtree). `complete: false` (the listing
   * failed part-way) removes nothing. `packed`: the listing `entries` came from, whole: the
   * directory's digest row is written for it.
   */
  record(entries: readonly Entry[], complete: boolean, packed?: PackedEntries): void {
    const { index, dev } = this.cache;
    const seenMs = this.cache.nowMs();
    const names = new Set<string>();
    for (const e of entries) {
      names.add(e.name);
      const old = this.known.get(e.name);
      const at = this.fresh.get(e.name);
      if (at !== undefined && e.hash !== undefined) {
        index.put(this.dir, e, dev, seenMs, { hash: e.hash, hashedNs: at });
        continue;
      }
      const from = this.reusedFrom.get(e.name);
      const keep =
        from?.hash && from.hashedNs ? { hash: from.hash, hashedNs: from.hashedNs } : undefined;
      if (
        old &&
        sameRow(old, e, stampKey(e, dev)) &&
        (keep === undefined || old.hash === keep.hash)
      )
        continue;
      index.put(this.dir, e, dev, seenMs, keep);
    }
    this.recordDigest(entries, complete, packed);
    if (!complete) return;
    this.cache.gone ??= [];
    for (const [name, old] of this.known)
      if (!names.has(name))
        this.cache.gone.push({ dir: this.dir, name, isDir: old.kind === 'dir' });
  }

  /**
   * Writes the directory's digest when every file in it has a hash that holds and is not
   * racy (read after its timestamp step passed), and the listing is at hand whole (nothing
   * filtered out); otherwise drops it, so the fast path never vouches for a hash the slow path
   * would read again.
   */
  private recordDigest(
    entries: readonly Entry[],
    complete: boolean,
    packed: PackedEntries | undefined,
  ): void {
    const hashes: string[] = [];
    let whole = complete && packed !== undefined && packedCount(packed) === entries.length;
    for (const e of entries) {
      if (!whole) break;
      if (e.kind !== 'file') continue;
      const hashedNs = this.fresh.get(e.name) ?? this.reusedFrom.get(e.name)?.hashedNs;
      if (e.hash === undefined || isRacy(e, hashedNs)) whole = false;
      else hashes.push(e.hash);
    }
    if (whole && packed)
      this.cache.index.putDigest(this.dir, shapeOf(this.cache, packed), digestOf(hashes.join(',')));
    else this.cache.index.dropDigest(this.dir);
  }
}

/** Whether a row already says what the scan saw (nothing to write). */
function sameRow(r: IndexRow, e: Entry, key: string): boolean {
  return r.stat === key && r.kind === e.kind && r.mode === e.mode && r.target === e.target;
}
