import type { Problem } from './problem.ts';

export type Kind = 'file' | 'dir' | 'symlink';

/** One item of a directory listing, as the scan saw it. */
export interface Entry {
  name: string;
  kind: Kind;
  /** Bytes for files; 0 for directories and symlinks. */
  size: number;
  mtimeNs: bigint;
  ctimeNs: bigint;
  /** Permission bits (mode & 0o7777). Symlinks carry 0: their mode is not ours to keep. */
  mode: number;
  ino: bigint;
  /** Symlinks only: the link text, never followed. */
  target?: string;
  /** Content hash (xxh3-128, hex) when known. */
  hash?: string;
}

/** One directory, entries sorted by name in byte order, plus per-entry trouble. */
export interface DirListing {
  entries: Entry[];
  problems: Problem[];
}

/** What a write sets on its result besides content. */
export interface Meta {
  mtimeNs: bigint;
  mode: number;
}

export function metaOf(e: Entry): Meta {
  return { mtimeNs: e.mtimeNs, mode: e.mode };
}

/**
 * Equal permission bits, or modes not compared at all: where either root cannot keep them
 * (FAT, exFAT show fixed bits), a mode difference is no change and must never travel.
 */
export function sameMode(
  a: number,
  b: number,
  opts: { ignoreModes?: boolean | undefined },
): boolean {
  return opts.ignoreModes === true || a === b;
}

export function sameMtime(a: bigint, b: bigint, toleranceNs: bigint): boolean {
  const d = a - b;
  return (d < 0n ? -d : d) <= toleranceNs;
}
