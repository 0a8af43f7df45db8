import { TickQueue } from './fifo.ts';

/** Jobs per call: enough that waking a pool thread (20-80 us here) is paid rarely. */
const MAX_BATCH = 64;
/** Calls at once: libuv's pool has 4 threads (a copy often waits on the disk's journal). */
const IN_FLIGHT = 4;

/**
 * How one of the addon's batch calls (copyAsync, hashAsync) takes its jobs and gives results:
 * flat arguments, not an object per job (N-API's element reads cost ~14 us a job).
 */
export interface BatchCall<J, R> {
  /** Numbers per job in the call's BigInt64Array. */
  nums: number;
  /** Results per job in the call's Float64Array. */
  results: number;
  /** Writes the job's numbers at `nums[at..]`; returns its paths, each ended by '\0'. */
  pack(job: J, nums: BigInt64Array, at: number): string;
  call(paths: string, nums: BigInt64Array, out: Float64Array, done: (err: unknown) => void): void;
  /** The job's result from its part of the results (`r[at..]`), or the error it failed with. */
  unpack(r: Float64Array, at: number, job: J): R | Error;
}

interface Waiting<J, R> {
  job: J;
  resolve: (r: R) => void;
  reject: (e: unknown) => void;
}

/**
 * Jobs run by one of the addon's batch calls on libuv's pool: what is asked in the same tick
 * goes out together, dealt over at most 4 calls at once.
 */
export class NativeBatches<J, R> {
  private readonly spec: BatchCall<J, R>;
  private readonly queue = new TickQueue<Waiting<J, R>>(() => this.pump());
  private inFlight = 0;

  constructor(spec: BatchCall<J, R>) {
    this.spec = spec;
  }

  run(job: J): Promise<R> {
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

  private send(part: Waiting<J, R>[]): void {
    const { spec } = this;
    let paths = '';
    const nums = new BigInt64Array(part.length * spec.nums);
    part.forEach((w, i) => {
      paths += spec.pack(w.job, nums, spec.nums * i);
    });
    const out = new Float64Array(part.length * spec.results);
    this.inFlight++;
    spec.call(paths, nums, out, (err) => {
      this.inFlight--;
      // An index and an offset, not entries() and subarray(): an iterator result and a typed
      // array per job were ~45 MB of garbage in a first --checksum run of 50,000 files.
      for (let i = 0; i < part.length; i++) {
        const w = part[i] as Waiting<J, R>;
        if (err) {
          w.reject(err);
          continue;
        }
        const r = spec.unpack(out, spec.results * i, w.job);
        if (r instanceof Error) w.reject(r);
        else w.resolve(r);
      }
      this.pump();
    });
  }
}

const digestBytes = Buffer.alloc(16);

/**
 * The four 32-bit words at `words[at..]`, most significant first, as 32 hex digits (the digests
 * the batch calls return). Through one buffer: a toString and a padStart per word cost a first
 * --checksum run of 50,000 files ~0.1 s of the main thread.
 */
export function hexWords(words: Float64Array, at: number): string {
  for (let i = 0; i < 4; i++) digestBytes.writeUInt32BE(words[at + i] as number, 4 * i);
  return digestBytes.toString('hex');
}

const NS_PER_S = 1_000_000_000n;

/**
 * A time in ns as the seconds and nanoseconds (0 to 999,999,999) the addon's calls take: in ns,
 * an int64 ends in 2262 and a BigInt64Array wraps what is past it (a file stamped 2400 was
 * copied with a time of 1901).
 */
export function putTime(nums: BigInt64Array, at: number, ns: bigint): void {
  const [s, n] = splitTime(ns);
  nums[at] = s;
  nums[at + 1] = BigInt(n);
}

/** A time in ns as seconds and nanoseconds (0 to 999,999,999; floor division before 1970). */
export function splitTime(ns: bigint): [seconds: bigint, nanoseconds: number] {
  const n = ns % NS_PER_S;
  return n < 0n ? [ns / NS_PER_S - 1n, Number(n + NS_PER_S)] : [ns / NS_PER_S, Number(n)];
}
