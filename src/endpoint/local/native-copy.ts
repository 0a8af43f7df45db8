import { type Copied, type CopyJob, SMALL_FILE, sourceChanged, tempName } from './copy-file.ts';
import { TickQueue } from './fifo.ts';
import { NATIVE_CALLS, type NativeCopier, systemError } from './native.ts';
import { targetAppeared } from './precondition.ts';

/** Copies per call: enough that waking a pool thread (20-80 us here) is paid rarely. */
const MAX_BATCH = 64;
/** Calls at once: libuv's pool has 4 threads; a copy often waits on the disk's journal. */
const IN_FLIGHT = 4;

interface Waiting {
  job: CopyJob;
  tmp: string;
  resolve: (c: Copied) => void;
  reject: (e: unknown) => void;
}

/**
 * New small files copied by native/copy_small.c on libuv's pool, in batches: the same steps as
 * copyFileAtomic (a temporary name, mode and times, the source checked before and after, S16),
 * and a rename that refuses to replace anything, so "absent" holds to the last moment. Only
 * for what needs nothing more: no old version to keep in the trash, no hash of the bytes.
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
    return (
      job.pre.type === 'absent' && !job.trashPath && !job.hash && job.expect.size <= SMALL_FILE
    );
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
      nums[6 * i + 5] = job.fsync ? 1n : 0n;
    });
    const out = new Float64Array(part.length * 4);
    this.inFlight++;
    this.copier.copyAsync(paths, nums, out, (err) => {
      this.inFlight--;
      part.forEach((w, i) => {
        if (err) w.reject(err);
        else if (out[4 * i] === 0) w.resolve({ bytes: out[4 * i + 1] as number });
        else w.reject(copyError(out.subarray(4 * i, 4 * i + 4), w));
      });
      this.pump();
    });
  }
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
