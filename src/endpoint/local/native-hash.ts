import { ChangedDuringSync } from '../endpoint.ts';
import type { HashJob } from './hash-file.ts';
import { NATIVE_CALLS, type NativeHasher, systemError } from './native.ts';

/**
 * hashFileSync's hash (XXH3-128 hex, the same checks and errors) made by native/hash_file.c:
 * no hash-wasm to load first (its WebAssembly held up the first hash of a two-way edit run by
 * ~80 ms), and no JavaScript call per read.
 */
export function nativeHashFile(hasher: NativeHasher, job: HashJob): string {
  const expect = new BigInt64Array([
    BigInt.asIntN(64, job.expect.ino),
    BigInt(job.expect.size),
    job.expect.mtimeNs,
  ]);
  const r = hasher.hashFile(job.abs, expect);
  if (typeof r === 'string') return r;
  const [code, errno, call] = r;
  if (code === 1)
    throw new ChangedDuringSync('source', `${job.shown} changed before it could be hashed`);
  if (code === 2) throw new ChangedDuringSync('source', `${job.shown} changed while it was hashed`);
  throw systemError(errno, NATIVE_CALLS[call] ?? 'hash', job.abs);
}
