import assert from 'node:assert/strict';
import type { PackedListing } from '../../src/endpoint/endpoint.ts';

/**
 * A native listing without its digest, to compare with the JavaScript listing of the same
 * directory (which takes none: the engine hashes it when it needs to). The digest, when there,
 * must look like one of native/digest.h's.
 */
export function sansDigest<T extends PackedListing | undefined>(l: T): T {
  if (!l || l.packed.digest === undefined) return l;
  const { digest, ...packed } = l.packed;
  assert.match(digest, /^n[0-9a-f]{32}$/);
  return { ...l, packed };
}
