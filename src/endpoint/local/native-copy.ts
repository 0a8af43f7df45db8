import { type Copied, type CopyJob, SMALL_FILE, sourceChanged, tempName } from './copy-file.ts';
import { NATIVE_CALLS, type NativeCopier, systemError } from './native.ts';
import { hexWords, NativeBatches, putTime } from './native-batch.ts';
import { targetAppeared } from './precondition.ts';

/** A copy as the batch call takes it: the job and its temporary name. */
interface Queued {
  job: CopyJob;
  tmp: string;
}

/**
 * New small files copied by native/copy_small.c on libuv's pool, in batches: the same steps as
 * copyFileAtomic (a temporary name, mode and times, the source checked before and after, S16),
 * and a rename that refuses to replace anything, so "absent" holds to the last moment; the
 * bytes' XXH3-128 when the job wants it. Only for what needs nothing more: no old version to
 * keep in the trash.
 */
export class NativeCopies {
  private readonly batches: NativeBatches<Queued, Copied>;

  constructor(copier: NativeCopier) {
    this.batches = new NativeBatches({
      nums: 8,
      results: 8, // see NativeCopier.copyAsync
      pack: ({ job, tmp }, nums, at) => {
        nums[at] = BigInt.asIntN(64, job.expect.ino);
        nums[at + 1] = BigInt(job.expect.size);
        putTime(nums, at + 2, job.expect.mtimeNs);
        nums[at + 4] = BigInt(job.mode);
        putTime(nums, at + 5, job.mtimeNs);
        nums[at + 7] = (job.fsync ? 1n : 0n) | (job.hash ? 2n : 0n);
        return `${job.src}\0${tmp}\0${job.dst}\0`;
      },
      call: (paths, nums, out, done) => copier.copyAsync(paths, nums, out, done),
      unpack: (r, at, q) => {
        if (r[at] !== 0) return copyError(r.subarray(at, at + 4), q);
        const bytes = r[at + 1] as number;
        return q.job.hash ? { bytes, hash: hexWords(r, at + 4) } : { bytes };
      },
    });
  }

  /** Whether `job` is one this copy makes (the caller copies the others itself). */
  static takes(job: CopyJob): boolean {
    return job.pre.type === 'absent' && !job.trashPath && job.expect.size <= SMALL_FILE;
  }

  copy(job: CopyJob): Promise<Copied> {
    return this.batches.run({ job, tmp: tempName(job.dst) });
  }
}

function copyError([code, errno, call, at]: Float64Array, { job, tmp }: Queued): Error {
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
