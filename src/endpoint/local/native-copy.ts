import { type Copied, type CopyJob, SMALL_FILE, sourceChanged, tempName } from './copy-file.ts';
import { TickQueue } from './fifo.ts';
import { NATIVE_CALLS, type NativeCopier, systemError } from './native.ts';
import { targetAppeared } from './precondition.ts';

/** Copies per call: enough that waking a pool thread (20-80 us here) is paid rarely. */
const MAX_BATCH = 64;
/** Calls at once: libuv's pool has 4 threads; a copy often waits on the disk's journal. */
const IN_FLIGHT = 4;
/** Results per job in the Float64Array: see NativeCopier.copyAsync. */
const RESULT = 8;

interface Waiting {
  job: CopyJob;
  tmp: string;
  resolve: (c: Copied) => void;
  reject: (e: unknown) => void;
}

/**
 * New small files copied by native/copy_small.c on libuv's pool, in batches: the same steps as
 * copyFileAtomic (a temporary name, mode and times, the source checked before and after, S16),
 * and a rename that refuses to replace anything, so "absent" holds to the last moment; the
 * bytes' XXH3-128 when the job wants it. Only for what needs nothing more: no old version to
 * keep in the trash.
 */
export class NativeCopies {
  private readonly copier: NativeCopier;
  private readonly queue = new TickQueue<Waiting>(() => this.pump());
  private inFlight = 0;

  constructor(copier: NativeCopier) {
    this.copier = copier;
  }

  /** Whether `job` is one this copy makes (the caller copies the others itself). */
  static takes(job: CopyJob): boolean {
    return job.pre.type === 'absent' && !job.trashPath && job.expect.size <= SMALL_FILE;
  }

  copy(job: CopyJob): Promise<Copied> {
    return new Promise((resolve, reject) => {
      this.queue.push({ job, tmp: tempName(job.dst), resolve, reject });
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
    const nums = new BigInt64Array(part.length * 6);
    part.forEach((w, i) => {
      const { job } = w;
      paths += `${job.src}\0${w.tmp}\0${job.dst}\0`;
      nums[6 * i] = BigInt.asIntN(64, job.expect.ino);
      nums[6 * i + 1] = BigInt(job.expect.size);
      nums[6 * i + 2] = job.expect.mtimeNs;
      nums[6 * i + 3] = BigInt(job.mode);
      nums[6 * i + 4] = job.mtimeNs;
      nums[6 * i + 5] = (job.fsync ? 1n : 0n) | (job.hash ? 2n : 0n);
    });
    const out = new Float64Array(part.length * RESULT);
    this.inFlight++;
    this.copier.copyAsync(paths, nums, out, (err) => {
      this.inFlight--;
      part.forEach((w, i) => {
        const r = out.subarray(RESULT * i, RESULT * (i + 1));
        if (err) w.reject(err);
        else if (r[0] !== 0) w.reject(copyError(r, w));
        else if (w.job.hash) w.resolve({ bytes: r[1] as number, hash: hexWords(r.subarray(4)) });
        else w.resolve({ bytes: r[1] as number });
      });
      this.pump();
    });
  }
}

/** 32-bit words, most significant first, as hex. */
export function hexWords(words: Float64Array): string {
  let hex = '';
  for (const w of words) hex += w.toString(16).padStart(8, '0');
  return hex;
}

function copyError([code, errno, call, at]: Float64Array, { job, tmp }: Waiting): Error {
  switch (code) {
    case 1:
      return sourceChanged(job.shown, 'before');
    case 2:
      return sourceChanged(job.shown, 'while');
    case 3:
      return targetAppeared(job.shown);
    default:
      return systemError(
        errno as number,
        NATIVE_CALLS[call as number] ?? 'copy',
        [job.src, tmp, job.dst][at as number] ?? job.src,
      );
  }
}
