import type { DirListing, Entry, Meta } from '../core/entry.ts';
import type { FilterSpec } from '../core/filter.ts';
import type { PackedEntries } from '../core/packed.ts';
import type { RelPath } from '../core/path.ts';
import type { Precondition } from '../core/plan.ts';

/** What a root can do, as data the planner reads (never instanceof checks). */
export interface Capabilities {
  /** How exactly an mtime we set is kept: compare mtimes no finer than this. */
  mtimePrecisionNs: bigint;
  /** A name also finds an entry whose name differs only in case (exFAT, FAT, NTFS, APFS). */
  caseInsensitive: boolean;
  canSymlink: boolean;
  /** Permission bits set by chmod are kept (not on FAT or exFAT, which show fixed bits). */
  keepsModes: boolean;
}

/** A listing that may be incomplete: when `complete` is false, nothing under it may be deleted (S17). */
export interface Listing extends DirListing {
  complete: boolean;
  /** Our temporary files left by an interrupted run (see `discard`). */
  leftovers?: RelPath[];
}

/** A listing with its entries packed (core/packed.ts): cheap to post, and to compare. */
export interface PackedListing extends Omit<Listing, 'entries'> {
  packed: PackedEntries;
}

/** Where the bytes of a write come from. */
export type WriteSource =
  | { type: 'stream'; data: AsyncIterable<Uint8Array> }
  /**
   * Ability of local roots: the target copies straight from this file, verifying `expect`.
   * `onHash` gets the xxh3-128 hash of the bytes written, when the target could take it on the
   * way (files it copies through memory); the two-way ancestor keeps it.
   */
  | { type: 'local-file'; path: string; expect: Entry; onHash?: (hash: string) => void };

/**
 * Thrown by a mutating call whose precondition no longer holds, or whose source changed while
 * it was read: the operation was not done, nothing was changed, the next run picks it up.
 */
export class ChangedDuringSync extends Error {
  readonly side: 'source' | 'target';
  constructor(side: 'source' | 'target', message: string) {
    super(message);
    this.name = 'ChangedDuringSync';
    this.side = side;
  }
}

/**
 * One root. Every mutating call checks its precondition where the files are, immediately
 * before acting, and throws ChangedDuringSync when it fails; other failures throw the
 * system error (its `code`, e.g. EACCES, ENOSPC, names it). Paths are RelPaths; '' is the root.
 */
export interface Endpoint {
  /** How the user named this root (for messages). */
  readonly uri: string;
  capabilities(): Promise<Capabilities>;
  /** The entry at `path`, or undefined when absent. Never follows a symlink. */
  stat(path: RelPath): Promise<Entry | undefined>;
  /**
   * Ability: `stat`, synchronous and cheap, without a symlink's target (an Entry's stat fields
   * only): what recording a path's stamp after each write needs.
   */
  statQuick?(path: RelPath): Entry | undefined;
  /**
   * One directory's children sorted by name in byte order, without `.concord/` at the root and
   * without our temporary files. Entries that cannot be read and special files are problems.
   * A directory that cannot be read gives `complete: false` and a problem, not an exception.
   */
  list(dir: RelPath): Promise<Listing>;
  /** Ability: `list`, with the entries packed. */
  listPacked?(dir: RelPath): Promise<PackedListing>;
  /**
   * Ability: start walking the whole root in the background, depth-first in byte order,
   * skipping what the filter excludes, so that `list` answers from the walk. `ifCheap`: only
   * if the walk has no thread of its own to start (the native walk, on libuv's pool), as the
   * engines ask before the root is listed.
   */
  walkAhead?(filter: FilterSpec, o?: { ifCheap?: boolean }): void;
  /** Ability: stop walking ahead; listings read the disk again from now on. */
  endWalk?(): Promise<void>;
  /** Content hash (xxh3-128 hex) of a file that must still match `expect`. */
  hash(path: RelPath, expect: Entry): Promise<string>;
  /** The bytes of a file; throws ChangedDuringSync at the end if it changed while read. */
  read(path: RelPath, expect: Entry): AsyncIterable<Uint8Array>;
  /** Absolute local path of `path`, when this root is on the local file system (an ability). */
  localPath?(path: RelPath): string;
  /**
   * What tells this root from whatever may later stand at its path (for a local root, the
   * device it is on): undefined when the root is not there. A change mid-run means a drive
   * was unplugged or unmounted.
   */
  rootIdentity?(): Promise<string | undefined>;
  /**
   * Atomically creates or replaces a file: written to a temporary name beside it, metadata set,
   * the source re-checked, the precondition re-checked, the old version moved to the trash,
   * then renamed into place. Returns the bytes written.
   */
  write(path: RelPath, source: WriteSource, meta: Meta, pre: Precondition): Promise<number>;
  /** Creates or replaces a symlink atomically (the old entry goes to the trash). */
  symlink(path: RelPath, target: string, meta: Meta, pre: Precondition): Promise<void>;
  /** Creates a directory, writable by us until its final mode is set by setMeta. */
  mkdir(path: RelPath, pre: Precondition): Promise<void>;
  setMeta(path: RelPath, kind: Entry['kind'], meta: Meta, pre: Precondition): Promise<void>;
  /**
   * Removes a file, symlink or (empty) directory: into the trash when the endpoint has one.
   * A directory that still holds entries (excluded or unreadable ones) is left in place and
   * the call throws an error with code ENOTEMPTY.
   */
  remove(path: RelPath, pre: Precondition): Promise<void>;
  /**
   * Renames `from` (which must still match `pre`) to `to` within this root; `to` must be
   * absent, and is never replaced.
   */
  move(from: RelPath, to: RelPath, pre: Precondition): Promise<void>;
  /**
   * Removes a leftover temporary file of an interrupted run, for good (it never held a
   * version of anything: the rename that would have committed it did not happen). Refuses
   * any other name.
   */
  discard(path: RelPath): Promise<void>;
  close(): Promise<void>;
}
