/**
 * RelPath: a path relative to a root, POSIX separators, no '.', '..', empty segments or
 * leading '/'. The root itself is ''. Byte order of UTF-8 names, directory-wise, is the
 * order of every listing and plan, so output is deterministic on every platform.
 */
export type RelPath = string;

export const ROOT: RelPath = '';

export function join(dir: RelPath, name: string): RelPath {
  return dir === '' ? name : `${dir}/${name}`;
}

export function parent(path: RelPath): RelPath {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

export function basename(path: RelPath): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** True when `path` is `dir` itself or lies below it. */
export function isWithin(path: RelPath, dir: RelPath): boolean {
  return dir === '' || path === dir || path.startsWith(`${dir}/`);
}

/** Why `path` is not a valid RelPath, or undefined when it is. */
export function relPathError(path: string): string | undefined {
  if (path === '') return undefined;
  if (path.startsWith('/')) return 'is absolute';
  if (path.includes('\0')) return 'contains a NUL byte';
  for (const seg of path.split('/')) {
    if (seg === '') return 'has an empty segment';
    if (seg === '.' || seg === '..') return `has a '${seg}' segment`;
  }
  return undefined;
}

const encoder = new TextEncoder();

/** Byte order of the UTF-8 encodings (JS string order is UTF-16 order, which differs). */
export function compareNames(a: string, b: string): number {
  if (a === b) return 0;
  // Fast path: ASCII-only names compare the same in UTF-16 and UTF-8.
  if (isAscii(a) && isAscii(b)) return a < b ? -1 : 1;
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const d = (x[i] as number) - (y[i] as number);
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/**
 * The longest name a file system takes, in bytes: NAME_MAX of Linux and the UTF-8 limit of
 * APFS. A name we make up (a conflict copy) must fit it, or every run fails on ENAMETOOLONG.
 */
export const NAME_MAX = 255;

/** Bytes of `s` in UTF-8; a lone surrogate counts 3, as TextEncoder writes it as U+FFFD. */
export function utf8Length(s: string): number {
  let n = 0;
  for (const ch of s) n += utf8Width(ch.codePointAt(0) as number);
  return n;
}

/**
 * The longest prefix of `s` that takes at most `max` bytes of UTF-8. The cut falls between
 * code points, never inside one's bytes, so the prefix is still valid UTF-8.
 */
export function cutUtf8(s: string, max: number): string {
  let n = 0;
  let end = 0;
  for (const ch of s) {
    n += utf8Width(ch.codePointAt(0) as number);
    if (n > max) break;
    end += ch.length;
  }
  return s.slice(0, end);
}

/**
 * `path` with `~n` after its last name: where a second version of the same path goes in a
 * run's trash or history. The name loses whole code points from its end to leave room, so the
 * result fits in NAME_MAX bytes (a 254-byte name plus `~2` failed with ENAMETOOLONG, and the
 * removal or overwrite that needed it failed with it). Any name of today's usual length comes
 * back as `${path}~${n}`.
 */
export function numberedName(path: string, n: number): string {
  const suffix = `~${n}`;
  const at = path.lastIndexOf('/') + 1;
  return `${path.slice(0, at)}${cutUtf8(path.slice(at), NAME_MAX - suffix.length)}${suffix}`;
}

function utf8Width(cp: number): number {
  return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

/** Parent-first order of whole paths: a directory sorts right before its children. */
export function comparePaths(a: RelPath, b: RelPath): number {
  const x = a === '' ? [] : a.split('/');
  const y = b === '' ? [] : b.split('/');
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const d = compareNames(x[i] as string, y[i] as string);
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/** The folder at a root that holds Concord's own files (trash, history, markers); never synced. */
export const STATE_DIR = '.concord';
