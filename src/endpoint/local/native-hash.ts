import { ChangedDuringSync } from '../endpoint.ts';
import { TickQueue } from './fifo.ts';
import type { HashJob } from './hash-file.ts';
import { NATIVE_CALLS, type NativeHasher, systemError } from './native.ts';
import { hexWords } from './native-copy.ts';

/**
 * hashFileSync's hash (XXH3-128 hex, the same checks and errors) made by native/hash_file.c:
 * no hash-wasm to load first (its WebAssembly held up the first hash of a two-way edit run by
 * ~80 ms), and no JavaScript call per read.
 */
export function nativeHashFile(hasher: NativeHasher, job: HashJob): string {
  const expect = new BigInt64Array(3);
  setExpect(expect, 0, job);
  const r = hasher.hashFile(job.abs, expect);
  if (typeof r === 'string') return r;
  throw hashError(r[0], r[1], r[2], job);
}

function setExpect(expect: BigInt64Array, i: number, job: HashJob): void {
  expect[3 * i] = BigInt.asIntN(64, job.expect.ino);
  expect[3 * i + 1] = BigInt(job.expect.size);
  expect[3 * i + 2] = job.expect.mtimeNs;
}

function hashError(code: number, errno: number, call: number, job: HashJob): Error {
  if (code === 1)
    return new ChangedDuringSync('source', `${job.shown} changed before it could be hashed`);
  if (code === 2)
    return new ChangedDuringSync('source', `${job.shown} changed while it was hashed`);
  return systemError(errno, NATIVE_CALLS[call] ?? 'hash', job.abs);
}

/** Files per call: enough that waking a pool thread (20-80 us here) is paid rarely. */
const MAX_BATCH = 64;
/** Calls at once: libuv's pool has 4 threads. */
const IN_FLIGHT = 4;
/** Results per file in the Float64Array: see NativeHasher.hashAsync. */
const RESULT = 7;

interface Waiting {
  job: HashJob;
  resolve: (hash: string) => void;
  reject: (e: unknown) => void;
}

/**
 * Files hashed by native/hash_file.c on libuv's pool, in batches of what was asked in the same
 * tick (a directory's files, usually), with nativeHashFile's checks and errors. A first
 * --checksum mirror of 50,000 files sent each file to a worker thread as a message of its own:
 * cloning the jobs and the round trips took the main thread longer than the hashing took.
 */
export class NativeHashes {
  private readonly hasher: NativeHasher;
  private readonly queue = new TickQueue<Waiting>(() => this.pump());
  private inFlight = 0;

  constructor(hasher: NativeHasher) {
    this.hasher = hasher;
  }

  hash(job: HashJob): Promise<string> {
    return new Promise((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
    });
  }

  private pump(): void {
    while (this.inFlight < IN_FLIGHT && this.queue.length > 0) {
      const n = Math.min(MAX_BATCH, Math.ceil(this.queue.length / IN_FLIGHT));
      this.send(this.queue.take(n));
    }
  }

  private send(part: Waiting[]): void {
    let paths = '';
    const expect = new BigInt64Array(part.length * 3);
    part.forEach((w, i) => {
      paths += `${w.job.abs}\0`;
      setExpect(expect, i, w.job);
    });
    const out = new Float64Array(part.length * RESULT);
    this.inFlight++;
    this.hasher.hashAsync(paths, expect, out, (err) => {
      this.inFlight--;
      part.forEach((w, i) => {
        const r = out.subarray(RESULT * i, RESULT * (i + 1));
        if (err) w.reject(err);
        else if (r[0] !== 0)
          w.reject(hashError(r[0] as number, r[1] as number, r[2] as number, w.job));
        else w.resolve(hexWords(r.subarray(3)));
      });
      this.pump();
    });
  }
}
