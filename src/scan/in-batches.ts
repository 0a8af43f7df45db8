/**
 * Runs `fn` over `xs` (each with its index), `size` at a time. Hashing a directory's files all
 * at once held a promise chain and a queued job per file: a first --checksum run of a directory
 * of 100,000 files peaked at 520 MB. The addon's pool takes 256 hashes at a time (4 calls of
 * 64), so 1,024 keep it fed. Here, beside hashOrReport, for both engines and `concord index`.
 */
export async function inBatches<T>(
  xs: readonly T[],
  fn: (x: T, i: number) => Promise<unknown>,
  size = 64,
): Promise<void> {
  for (let i = 0; i < xs.length; i += size) {
    const batch: Promise<unknown>[] = [];
    for (let j = i; j < Math.min(i + size, xs.length); j++) batch.push(fn(xs[j] as T, j));
    await Promise.all(batch);
  }
}

/** Hashes in flight per directory and side (inBatches). */
export const HASH_BATCH = 1024;
