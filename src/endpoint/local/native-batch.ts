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
  /** The job's result from its part of the results, or the error it failed with. */
  unpack(r: Float64Array, job: J): R | Error;
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
      for (const [i, w] of part.entries()) {
        if (err) {
          w.reject(err);
          continue;
        }
        const r = spec.unpack(out.subarray(spec.results * i, spec.results * (i + 1)), w.job);
        if (r instanceof Error) w.reject(r);
        else w.resolve(r);
      }
      this.pump();
    });
  }
}

/** 32-bit words, most significant first, as hex (the digests the batch calls return). */
export function hexWords(words: Float64Array): string {
  let hex = '';
  for (const w of words) hex += w.toString(16).padStart(8, '0');
  return hex;
}
