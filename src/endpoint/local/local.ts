import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  copyFileSync,
  fchmodSync,
  fstatSync,
  fsyncSync,
  futimesSync,
  linkSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  renameSync,
  rmdirSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeSync,
} from 'node:fs';
import { copyFile } from 'node:fs/promises';
import { dirname, join as joinPath } from 'node:path';
import type { IHasher } from 'hash-wasm';
import type { Entry, Meta } from '../../core/entry.ts';
import { basename, compareNames, join, type RelPath } from '../../core/path.ts';
import type { Precondition } from '../../core/plan.ts';
import { type Problem, problem } from '../../core/problem.ts';
import {
  type Capabilities,
  ChangedDuringSync,
  type Endpoint,
  type Listing,
  type WriteSource,
} from '../endpoint.ts';
import { checkPrecondition } from './precondition.ts';
import { entryOf, lstatOrUndefined, unchangedFile } from './stat.ts';

export const STATE_DIR = '.concord';
export const TEMP_PREFIX = '.concord-tmp-';

/** Files up to this size are copied through one reused buffer; larger ones by copyFile. */
const SMALL_FILE = 1 << 20;
const buffer = Buffer.allocUnsafe(SMALL_FILE);

export interface LocalOptions {
  /** Absolute, resolved path of the root. */
  root: string;
  /** How the user named it. */
  uri?: string;
  /** Absolute directory receiving removed and overwritten entries; none: removed for good. */
  trashDir?: string | undefined;
  /** Remove leftover temporary files of an interrupted run as they are listed. */
  cleanTemps?: boolean;
  /** fsync each written file before renaming it into place. */
  fsync?: boolean;
}

/**
 * A root on the local file system. Calls are synchronous underneath: on 2 cores a loop of
 * sync readdir/lstat is 2-5x faster than promise-based fs (STACK.md); only large copies go
 * through copyFile (one copy_file_range, or a reflink where the file system offers it).
 */
export class LocalEndpoint implements Endpoint {
  readonly uri: string;
  readonly root: string;
  private readonly opts: LocalOptions;
  private hasher: Promise<IHasher> | undefined;

  constructor(opts: LocalOptions) {
    this.opts = opts;
    this.root = opts.root;
    this.uri = opts.uri ?? opts.root;
  }

  localPath(path: RelPath): string {
    return path === '' ? this.root : joinPath(this.root, path);
  }

  async capabilities(): Promise<Capabilities> {
    // utimes takes a double of seconds: an mtime we set survives to about a microsecond.
    return { mtimePrecisionNs: 1000n, caseInsensitive: false, canSymlink: true };
  }

  async stat(path: RelPath): Promise<Entry | undefined> {
    const abs = this.localPath(path);
    const st = lstatOrUndefined(abs);
    return st && entryOf(basename(path), abs, st);
  }

  async list(dir: RelPath): Promise<Listing> {
    const absDir = this.localPath(dir);
    let names: string[];
    try {
      names = readdirSync(absDir);
    } catch (err) {
      return {
        entries: [],
        problems: [problem(dir, 'unreadable', `cannot list directory: ${errText(err)}`)],
        complete: false,
      };
    }
    names.sort(compareNames);
    const entries: Entry[] = [];
    const problems: Problem[] = [];
    let complete = true;
    for (const name of names) {
      if (dir === '' && name === STATE_DIR) continue;
      const abs = joinPath(absDir, name);
      if (name.startsWith(TEMP_PREFIX)) {
        if (this.opts.cleanTemps) tryUnlink(abs);
        continue;
      }
      try {
        const st = lstatOrUndefined(abs);
        if (!st) continue; // vanished between readdir and lstat
        const e = entryOf(name, abs, st);
        if (e) entries.push(e);
        else
          problems.push(
            problem(join(dir, name), 'special-file', 'is a FIFO, socket or device: not synced'),
          );
      } catch (err) {
        complete = false;
        problems.push(problem(join(dir, name), 'unreadable', `cannot stat: ${errText(err)}`));
      }
    }
    return { entries, problems, complete };
  }

  async hash(path: RelPath, expect: Entry): Promise<string> {
    // Loaded on first use: most runs hash nothing, and the module is large to parse.
    if (!this.hasher) this.hasher = import('hash-wasm').then((m) => m.createXXHash128());
    const hasher = await this.hasher;
    const abs = this.localPath(path);
    const fd = openSync(abs, 'r');
    try {
      if (!unchangedFile(fstatSync(fd, { bigint: true }), expect)) {
        throw new ChangedDuringSync('source', `${path} changed before it could be hashed`);
      }
      hasher.init();
      for (;;) {
        const n = readSync(fd, buffer, 0, buffer.length, null);
        if (n === 0) break;
        hasher.update(buffer.subarray(0, n));
      }
      return hasher.digest('hex');
    } finally {
      closeSync(fd);
    }
  }

  async *read(path: RelPath, expect: Entry): AsyncIterable<Uint8Array> {
    const abs = this.localPath(path);
    const fd = openSync(abs, 'r');
    try {
      const before = fstatSync(fd, { bigint: true });
      if (!unchangedFile(before, expect))
        throw new ChangedDuringSync('source', `${path} changed before it was read`);
      const chunk = Buffer.allocUnsafe(SMALL_FILE);
      for (;;) {
        const n = readSync(fd, chunk, 0, chunk.length, null);
        if (n === 0) break;
        yield chunk.subarray(0, n);
      }
      const after = fstatSync(fd, { bigint: true });
      if (
        after.size !== before.size ||
        after.mtimeNs !== before.mtimeNs ||
        after.ctimeNs !== before.ctimeNs
      ) {
        throw new ChangedDuringSync('source', `${path} changed while it was copied`);
      }
    } finally {
      closeSync(fd);
    }
  }

  async write(path: RelPath, source: WriteSource, meta: Meta, pre: Precondition): Promise<number> {
    const abs = this.localPath(path);
    const tmp = tempName(abs);
    let bytes = 0;
    try {
      if (source.type === 'local-file' && source.expect.size > SMALL_FILE) {
        bytes = await copyLarge(source.path, source.expect, tmp);
        chmodSync(tmp, meta.mode);
        utimesSync(tmp, nowSeconds(), toSeconds(meta.mtimeNs));
        if (this.opts.fsync) fsyncPath(tmp);
      } else {
        const out = openSync(tmp, 'wx', 0o600);
        try {
          bytes =
            source.type === 'local-file'
              ? copySmall(source.path, source.expect, out)
              : await writeStream(source.data, out);
          fchmodSync(out, meta.mode);
          futimesSync(out, nowSeconds(), toSeconds(meta.mtimeNs));
          if (this.opts.fsync) fsyncSync(out);
        } finally {
          closeSync(out);
        }
      }
      checkPrecondition(abs, pre, path);
      if (pre.type === 'same') this.keepOldVersion(path, abs);
      renameSync(tmp, abs);
      return bytes;
    } catch (err) {
      tryUnlink(tmp);
      throw err;
    }
  }

  async symlink(path: RelPath, target: string, meta: Meta, pre: Precondition): Promise<void> {
    const abs = this.localPath(path);
    const tmp = tempName(abs);
    try {
      symlinkSync(target, tmp);
      lutimesSync(tmp, nowSeconds(), toSeconds(meta.mtimeNs));
      checkPrecondition(abs, pre, path);
      if (pre.type === 'same') this.keepOldVersion(path, abs);
      renameSync(tmp, abs);
    } catch (err) {
      tryUnlink(tmp);
      throw err;
    }
  }

  async mkdir(path: RelPath, pre: Precondition): Promise<void> {
    const abs = this.localPath(path);
    checkPrecondition(abs, pre, path);
    mkdirSync(abs, { mode: 0o700 });
  }

  async setMeta(path: RelPath, kind: Entry['kind'], meta: Meta, pre: Precondition): Promise<void> {
    const abs = this.localPath(path);
    checkPrecondition(abs, pre, path);
    if (kind === 'symlink') {
      lutimesSync(abs, nowSeconds(), toSeconds(meta.mtimeNs));
      return;
    }
    chmodSync(abs, meta.mode);
    utimesSync(abs, nowSeconds(), toSeconds(meta.mtimeNs));
  }

  async remove(path: RelPath, pre: Precondition): Promise<void> {
    const abs = this.localPath(path);
    checkPrecondition(abs, pre, path);
    const isDir = pre.type === 'dir' || (pre.type === 'same' && pre.entry.kind === 'dir');
    if (isDir) {
      // Children went first; what is left was excluded or unreadable, and stays.
      rmdirSync(abs);
      if (this.opts.trashDir) mkdirSync(this.trashPath(path), { recursive: true });
      return;
    }
    if (this.opts.trashDir) {
      const dest = this.trashPath(path);
      mkdirSync(dirname(dest), { recursive: true });
      renameSync(abs, dest);
    } else {
      unlinkSync(abs);
    }
  }

  async close(): Promise<void> {}

  private trashPath(path: RelPath): string {
    return joinPath(this.opts.trashDir as string, path);
  }

  /** Before an overwrite: a hard link in the trash keeps the old version, and the rename stays atomic. */
  private keepOldVersion(path: RelPath, abs: string): void {
    if (!this.opts.trashDir) return;
    const dest = this.trashPath(path);
    mkdirSync(dirname(dest), { recursive: true });
    tryUnlink(dest);
    try {
      linkSync(abs, dest);
    } catch {
      copyFileSync(abs, dest);
    }
  }
}

function copySmall(src: string, expect: Entry, out: number): number {
  const fd = openSync(src, 'r');
  try {
    const before = fstatSync(fd, { bigint: true });
    if (!unchangedFile(before, expect))
      throw new ChangedDuringSync('source', `${src} changed before it was copied`);
    let total = 0;
    for (;;) {
      const n = readSync(fd, buffer, 0, buffer.length, null);
      if (n === 0) break;
      writeAll(out, buffer, n);
      total += n;
    }
    const after = fstatSync(fd, { bigint: true });
    if (
      after.size !== before.size ||
      after.mtimeNs !== before.mtimeNs ||
      after.ctimeNs !== before.ctimeNs
    ) {
      throw new ChangedDuringSync('source', `${src} changed while it was copied`);
    }
    return total;
  } finally {
    closeSync(fd);
  }
}

async function copyLarge(src: string, expect: Entry, tmp: string): Promise<number> {
  const before = lstatOrUndefined(src);
  if (!before || !unchangedFile(before, expect)) {
    throw new ChangedDuringSync('source', `${src} changed before it was copied`);
  }
  await copyFile(src, tmp, 0);
  const after = lstatOrUndefined(src);
  if (
    !after ||
    after.size !== before.size ||
    after.mtimeNs !== before.mtimeNs ||
    after.ctimeNs !== before.ctimeNs
  ) {
    throw new ChangedDuringSync('source', `${src} changed while it was copied`);
  }
  return Number(after.size);
}

async function writeStream(data: AsyncIterable<Uint8Array>, out: number): Promise<number> {
  let total = 0;
  for await (const chunk of data) {
    writeAll(out, chunk, chunk.length);
    total += chunk.length;
  }
  return total;
}

function writeAll(fd: number, buf: Uint8Array, n: number): void {
  let off = 0;
  while (off < n) off += writeSync(fd, buf, off, n - off);
}

function fsyncPath(p: string): void {
  const fd = openSync(p, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function tempName(abs: string): string {
  // Keep the name under NAME_MAX (255 bytes) whatever the original's length.
  const base = Buffer.from(basename(abs))
    .subarray(0, 180)
    .toString('utf8')
    .replace(/\uFFFD+$/, '');
  return joinPath(dirname(abs), `${TEMP_PREFIX}${randomBytes(4).toString('hex')}-${base}`);
}

function tryUnlink(p: string): void {
  try {
    unlinkSync(p);
  } catch {
    // already gone
  }
}

/**
 * libuv truncates the double it is given to whole microseconds, and a double near 1.8e9 s is
 * exact only to about 0.24 us: aiming at the middle of the microsecond makes the truncation
 * land on it, so a copy's mtime is off by less than 1 us (the ns digits are lost).
 */
function toSeconds(ns: bigint): number {
  return Number(ns / 1000n) / 1e6 + 5e-7;
}

function nowSeconds(): number {
  return Date.now() / 1000;
}

/** "permission denied (EACCES)" from a Node system error; the path is named by the caller. */
export function errText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as NodeJS.ErrnoException).code;
  if (code === undefined) return err.message;
  const m = /^[A-Z0-9_]+: ([^,]+)/.exec(err.message);
  return `${m?.[1] ?? err.message} (${code})`;
}
