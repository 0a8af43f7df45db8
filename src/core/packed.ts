import type { Entry, Kind } from './entry.ts';

/**
 * One directory's entries as flat data: what a walker thread posts (no object per entry, no
 * BigInt), and what the engine can check for "nothing to do" without making Entry objects.
 * Every field is exact: 64-bit values are kept as two 32-bit words.
 */
export interface PackedEntries {
  /** Names in byte order joined by NAME_SEP ('' when there are none). */
  names: string;
  /** WORDS 32-bit words per entry, laid out as the W_* offsets say. */
  words: Int32Array;
  /** Symlink targets, in entry order of the symlinks. */
  targets: readonly string[];
  /**
   * The listing's digest, when the thread that listed it took one (native/digest.h); else the
   * engine takes it when it needs one (engine/twoway.ts). Never set on entries changed after.
   */
  readonly digest?: string;
}

/** The one character no file name can hold. */
export const NAME_SEP = '\0';

// Word offsets within an entry. `_LO` words are the low 32 bits (read unsigned), `_HI` the
// high 32 bits (signed) of a 64-bit value.
export const W_KIND = 0;
export const W_MODE = 1;
export const W_SIZE_LO = 2;
export const W_SIZE_HI = 3;
export const W_MTIME_S_LO = 4;
export const W_MTIME_S_HI = 5;
export const W_MTIME_NS = 6;
export const W_CTIME_S_LO = 7;
export const W_CTIME_S_HI = 8;
export const W_CTIME_NS = 9;
export const W_INO_LO = 10;
export const W_INO_HI = 11;
export const WORDS = 12;

export const KINDS: readonly Kind[] = ['file', 'dir', 'symlink'];
export const KIND_FILE = 0;
export const KIND_DIR = 1;
export const KIND_SYMLINK = 2;

const TWO_32 = 4294967296;
const TWO_32N = 4294967296n;
const NS_PER_S = 1_000_000_000n;

export function packedCount(p: PackedEntries): number {
  return p.words.length / WORDS;
}

export function packedNames(p: PackedEntries): string[] {
  return p.names === '' && p.words.length === 0 ? [] : p.names.split(NAME_SEP);
}

/** The names at `indices` (ascending), without splitting the others out. */
export function packedNamesAt(p: PackedEntries, indices: readonly number[]): string[] {
  const out: string[] = [];
  let start = 0;
  let i = 0;
  for (const want of indices) {
    for (; i < want; i++) start = p.names.indexOf(NAME_SEP, start) + 1;
    const end = p.names.indexOf(NAME_SEP, start);
    out.push(p.names.slice(start, end < 0 ? undefined : end));
  }
  return out;
}

/** Writes a signed 64-bit value as two words. */
export function setWide(words: Int32Array, at: number, v: bigint): void {
  words[at] = Number(BigInt.asIntN(32, v));
  words[at + 1] = Number(BigInt.asIntN(32, v >> 32n));
}

/** A 64-bit value as a number, when it is exactly one (|v| <= 2^53); else undefined. */
export function wideNumber(words: Int32Array, at: number): number | undefined {
  const hi = words[at + 1] as number;
  if (hi >= 0x200000 || hi < -0x200000) return undefined;
  return hi * TWO_32 + ((words[at] as number) >>> 0);
}

export function wideBigInt(words: Int32Array, at: number): bigint {
  const hi = words[at + 1] as number;
  const lo = (words[at] as number) >>> 0;
  return hi === 0 ? BigInt(lo) : BigInt(hi) * TWO_32N + BigInt(lo);
}

/** The time at word `at` (seconds in two words, then nanoseconds), in ns. */
export function timeNs(words: Int32Array, at: number): bigint {
  return wideBigInt(words, at) * NS_PER_S + BigInt(words[at + 2] as number);
}

/** The Entry at index `i` (its name given: split the names once per listing). */
export function packedEntry(p: PackedEntries, i: number, name: string, target?: string): Entry {
  const w = p.words;
  const b = i * WORDS;
  const kind = KINDS[w[b + W_KIND] as number] as Kind;
  const e: Entry = {
    name,
    kind,
    size: (w[b + W_SIZE_HI] as number) * TWO_32 + ((w[b + W_SIZE_LO] as number) >>> 0),
    mode: w[b + W_MODE] as number,
    mtimeNs: timeNs(w, b + W_MTIME_S_LO),
    ctimeNs: timeNs(w, b + W_CTIME_S_LO),
    ino: BigInt.asUintN(64, wideBigInt(w, b + W_INO_LO)),
  };
  if (kind === 'symlink') e.target = target ?? '';
  return e;
}

export function unpackEntries(p: PackedEntries): Entry[] {
  const names = packedNames(p);
  const out: Entry[] = new Array(names.length);
  let t = 0;
  for (let i = 0; i < names.length; i++) {
    const symlink = p.words[i * WORDS + W_KIND] === KIND_SYMLINK;
    out[i] = packedEntry(p, i, names[i] as string, symlink ? p.targets[t++] : undefined);
  }
  return out;
}

/** Packs entries (the slow path: walkers write the words straight from lstat). */
export function packEntries(entries: readonly Entry[]): PackedEntries {
  const words = new Int32Array(entries.length * WORDS);
  const targets: string[] = [];
  entries.forEach((e, i) => {
    const b = i * WORDS;
    words[b + W_KIND] = KINDS.indexOf(e.kind);
    words[b + W_MODE] = e.mode;
    setWide(words, b + W_SIZE_LO, BigInt(e.size));
    setTime(words, b + W_MTIME_S_LO, e.mtimeNs);
    setTime(words, b + W_CTIME_S_LO, e.ctimeNs);
    setWide(words, b + W_INO_LO, e.ino);
    if (e.kind === 'symlink') targets.push(e.target ?? '');
  });
  return { names: entries.map((e) => e.name).join(NAME_SEP), words, targets };
}

/** Nanoseconds as seconds (floored) and nanoseconds 0..999,999,999, as stat reports them. */
export function setTime(words: Int32Array, at: number, ns: bigint): void {
  let s = ns / NS_PER_S;
  let n = ns - s * NS_PER_S;
  if (n < 0n) {
    s -= 1n;
    n += NS_PER_S;
  }
  setWide(words, at, s);
  words[at + 2] = Number(n);
}

/** `tolNs` as a number when that is exact and usable by sameMtimePacked, else undefined. */
export function toleranceNumber(tolNs: bigint): number | undefined {
  return tolNs >= 0n && tolNs <= 9007199254740991n ? Number(tolNs) : undefined;
}

/**
 * Whether the mtimes at `a` and `b` (seconds words, then nanoseconds) are within `tolNs`:
 * sameMtime on the packed form. `tolNum` is toleranceNumber(tolNs).
 */
export function sameMtimePacked(
  x: Int32Array,
  a: number,
  y: Int32Array,
  b: number,
  tolNs: bigint,
  tolNum: number | undefined,
): boolean {
  if (tolNum !== undefined) {
    const dn = (x[a + 2] as number) - (y[b + 2] as number);
    if (x[a] === y[b] && x[a + 1] === y[b + 1]) return Math.abs(dn) <= tolNum;
    const sa = wideNumber(x, a);
    const sb = wideNumber(y, b);
    if (sa !== undefined && sb !== undefined) {
      const ds = sa - sb;
      // Exact in doubles: |ds * 1e9 + dn| < 2^53.
      if (ds > -1e6 && ds < 1e6) return Math.abs(ds * 1e9 + dn) <= tolNum;
    }
  }
  const d = timeNs(x, a) - timeNs(y, b);
  return (d < 0n ? -d : d) <= tolNs;
}
