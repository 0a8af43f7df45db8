import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { IHasher } from 'hash-wasm';
import type xxhash128 from 'hash-wasm/dist/xxhash128.umd.min.js';
import type { Entry } from '../../core/entry.ts';
import { ChangedDuringSync } from '../endpoint.ts';
import { type BytesHasher, SMALL_FILE } from './copy-file.ts';
import { OPEN_TO_READ, unchangedFile } from './stat.ts';

const require = createRequire(import.meta.url);

export interface HashJob {
  abs: string;
  expect: Entry;
  /** The path as messages show it. */
  shown: string;
}

/** One xxh3-128 hasher and read buffer per thread, made on first use. */
export class FileHasher {
  private hasher: Promise<IHasher> | undefined;
  private buf: Buffer | undefined;

  async hash(job: HashJob): Promise<string> {
    const hasher = await this.ready();
    this.buf ??= Buffer.allocUnsafe(SMALL_FILE);
    return hashFileSync(job, hasher, this.buf);
  }

  /** The hasher as a function of bytes in memory (a copy's). */
  async bytesHasher(): Promise<BytesHasher> {
    const h = await this.ready();
    return (bytes) => h.init().update(bytes).digest('hex');
  }

  /** The hasher, for hashing bytes already in memory (a copy's). */
  ready(): Promise<IHasher> {
    // Loaded on first use: most runs hash nothing. The one algorithm's bundle, not the
    // package's index: importing that took 95-165 ms here, this one 47-74 ms (with the
    // WebAssembly compiled), on the main thread and in every copying thread. Required, not
    // imported: an import takes several turns of the event loop, and during a walk each turn
    // waits behind the listings that arrived (the first hash of a two-way run waited 130 ms).
    this.hasher ??= Promise.resolve().then(() =>
      (require('hash-wasm/dist/xxhash128.umd.min.js') as typeof xxhash128).createXXHash128(),
    );
    return this.hasher;
  }
}

/**
 * Hashes a file that must still be `expect`, reading into a reused buffer (64 KiB streams were
 * 2-5x slower, STACK.md). A file that changed since the scan gives ChangedDuringSync, never a
 * hash of bytes that were never on disk together: native/hash_file.c says why one fstat after
 * the read, against the scan's stat (ctime included), is enough, and why the read stops at the
 * expected size.
 */
export function hashFileSync(job: HashJob, hasher: IHasher, buf: Buffer): string {
  const fd = openSync(job.abs, OPEN_TO_READ);
  try {
    hasher.init();
    let readError: unknown;
    try {
      for (let left = job.expect.size; left > 0; ) {
        const n = readSync(fd, buf, 0, Math.min(buf.length, left), null);
        if (n === 0) break;
        hasher.update(buf.subarray(0, n));
        left -= n;
      }
    } catch (err) {
      readError = err;
    }
    const st = fstatSync(fd, { bigint: true });
    // A read error of the file scanned is its own; of another file or kind there, a change.
    if (readError !== undefined && st.isFile() && st.ino === job.expect.ino) throw readError;
    if (
      readError !== undefined ||
      !unchangedFile(st, job.expect) ||
      st.ctimeNs !== job.expect.ctimeNs
    )
      throw new ChangedDuringSync('source', `${job.shown} changed since it was scanned`);
    return hasher.digest('hex');
  } finally {
    closeSync(fd);
  }
}
