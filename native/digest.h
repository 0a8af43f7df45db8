// A 128-bit digest of a directory's listing, taken on the thread that lists it, so the engine's
// main thread does not hash every listing of a re-run again (it did, with SHA-1: a fifth of a
// no-op two-way run's main-thread time). It detects change, it is not a defence against an
// adversary: an attacker who can write into a root changes its files anyway. The mixing is
// MurmurHash3's x64 128-bit round and finaliser (public domain, Austin Appleby), fed by a
// streaming buffer: a partial last block is padded with zeros and the length is mixed in.
#ifndef CONCORD_DIGEST_H
#define CONCORD_DIGEST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef struct {
  uint64_t h1, h2, len;
  unsigned char buf[16];
  size_t nbuf;
} digest_t;

static inline uint64_t digest_rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

static inline uint64_t digest_fmix(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}

static inline void digest_block(digest_t *d, const unsigned char *p) {
  const uint64_t c1 = 0x87c37b91114253d5ULL, c2 = 0x4cf5ad432745937fULL;
  uint64_t k1, k2;
  memcpy(&k1, p, 8);
  memcpy(&k2, p + 8, 8);
  k1 *= c1;
  k1 = digest_rotl(k1, 31);
  k1 *= c2;
  d->h1 ^= k1;
  d->h1 = digest_rotl(d->h1, 27) + d->h2;
  d->h1 = d->h1 * 5 + 0x52dce729;
  k2 *= c2;
  k2 = digest_rotl(k2, 33);
  k2 *= c1;
  d->h2 ^= k2;
  d->h2 = digest_rotl(d->h2, 31) + d->h1;
  d->h2 = d->h2 * 5 + 0x38495ab5;
}

static inline void digest_init(digest_t *d) { memset(d, 0, sizeof *d); }

static inline void digest_update(digest_t *d, const void *data, size_t n) {
  const unsigned char *p = data;
  d->len += n;
  if (d->nbuf) {
    size_t take = 16 - d->nbuf < n ? 16 - d->nbuf : n;
    memcpy(d->buf + d->nbuf, p, take);
    d->nbuf += take;
    p += take;
    n -= take;
    if (d->nbuf < 16) return;
    digest_block(d, d->buf);
    d->nbuf = 0;
  }
  for (; n >= 16; p += 16, n -= 16) digest_block(d, p);
  memcpy(d->buf, p, n);
  d->nbuf = n;
}

// The digest as "n" and 32 hex digits (33 characters and the terminating zero in `out`). The
// "n" keeps it apart from the SHA-1 digests (base64) the JavaScript listing's path computes: a
// stored digest of one kind never equals a fresh one of the other, so a run that lists the
// other way only looks at the directory again.
static inline void digest_hex(digest_t *d, char out[34]) {
  if (d->nbuf) {
    memset(d->buf + d->nbuf, 0, 16 - d->nbuf);
    digest_block(d, d->buf);
  }
  uint64_t h1 = d->h1 ^ d->len, h2 = d->h2 ^ d->len;
  h1 += h2;
  h2 += h1;
  h1 = digest_fmix(h1);
  h2 = digest_fmix(h2);
  h1 += h2;
  h2 += h1;
  snprintf(out, 34, "n%016llx%016llx", (unsigned long long)h1, (unsigned long long)h2);
}

#endif
