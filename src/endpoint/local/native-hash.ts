import { ChangedDuringSync } from '../endpoint.ts';
import type { HashJob } from './hash-file.ts';
import { NATIVE_CALLS, type NativeHasher, systemError } from './native.ts';
import { hexWords, NativeBatches, putTime } from './native-batch.ts';

/** Numbers per file in hashFile's and hashAsync's `expect`. */
const EXPECT = 6;

/**
 * hashFileSync's hash (XXH3-128 hex, the same checks and errors) made by native/hash_file.c:
 * no hash-wasm to load first (its WebAssembly held up the first hash of a two-way edit run by
 * ~80 ms), and no JavaScript call per read.
 */
export function nativeHashFile(hasher: NativeHasher, job: HashJob): string {
  const expect = new BigInt64Array(EXPECT);
  setExpect(expect, 0, job);
  const r = hasher.hashFile(job.abs, expect);
  if (typeof r === 'string') return r;
  throw hashError(r[0], r[1], r[2], job);
}

/** The job's inode, size, mtime and ctime (seconds, nanoseconds) at `expect[at..]`. */
function setExpect(expect: BigInt64Array, at: number, job: HashJob): void {
  expect[at] = BigInt.asIntN(64, job.expect.ino);
  expect[at + 1] = BigInt(job.expect.size);
  putTime(expect, at + 2, job.expect.mtimeNs);
  putTime(expect, at + 4, job.expect.ctimeNs);
}

function hashError(code: number, errno: number, call: number, job: HashJob): Error {
  // 1: another file or kind at the path; 2: the file's size or times moved since the scan.
  if (code === 1 || code === 2)
    return new ChangedDuringSync('source', `${job.shown} changed since it was scanned`);
  return systemError(errno, NATIVE_CALLS[call] ?? 'hash', job.abs);
}

/**
 * Files hashed by native/hash_file.c on libuv's pool, in batches of what was asked in the same
 * tick (a directory's files, usually), with nativeHashFile's checks and errors. A first
 * --checksum mirror of 50,000 files sent each file to a worker thread as a message of its own:
 * cloning the jobs and the round trips took the main thread longer than the hashing took.
 */
export class NativeHashes {
  private readonly batches: NativeBatches<HashJob, string>;

  constructor(hasher: NativeHasher) {
    this.batches = new NativeBatches({
      nums: EXPECT,
      results: 7, // see NativeHasher.hashAsync
      pack: (job, nums, at) => {
        setExpect(nums, at, job);
        return `${job.abs}\0`;
      },
      call: (paths, nums, out, done) => hasher.hashAsync(paths, nums, out, done),
      unpack: (r, at, job) =>
        r[at] !== 0
          ? hashError(r[at] as number, r[at + 1] as number, r[at + 2] as number, job)
          : hexWords(r, at + 3),
    });
  }

  hash(job: HashJob): Promise<string> {
    return this.batches.run(job);
  }
}
