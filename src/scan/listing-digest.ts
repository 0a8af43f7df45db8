import { KIND_DIR, type PackedEntries, W_KIND, W_SIZE_LO, WORDS } from '../core/packed.ts';
import { nodeCrypto } from '../node-crypto.ts';

/**
 * A digest of a packed listing: names, every stat word of files and symlinks (mode, size,
 * mtime, ctime, inode), link targets, and of a subdirectory only its kind and mode. Equal
 * digests mean the same entries with the same stat: for files, content no one has touched
 * since (hash-reuse.ts says why ctime makes that hold), which is what the fast paths of a
 * two-way run and of a --checksum scan rely on. A subdirectory's times move with every write
 * below it, and what is below is decided when it is visited: an edit deep down leaves its
 * ancestors' digests as they were. The native lister takes it (the same fields, another hash:
 * native/digest.h) on the thread that lists; SHA-1 here otherwise. A root is listed the same
 * way run after run, so stored digests meet digests of the same kind.
 */
export function listingDigest(p: PackedEntries): string {
  if (p.digest !== undefined) return p.digest;
  const words = p.words.slice();
  for (let b = 0; b < words.length; b += WORDS) {
    if (words[b + W_KIND] !== KIND_DIR) continue;
    for (let w = W_SIZE_LO; w < WORDS; w++) words[b + w] = 0;
  }
  const h = nodeCrypto().createHash('sha1');
  h.update(p.names);
  h.update(new Uint8Array(words.buffer));
  h.update(p.targets.join('\0'));
  return h.digest('base64');
}
