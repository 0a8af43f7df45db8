// XXH3-128 in C (xxHash's own header, vendored): the hash of a file for the engine's main thread
// without loading hash-wasm (its WebAssembly took ~80 ms of a two-way edit run before the first
// hash), and of the bytes a native copy wrote (copy_small.c). The same digests as hash-wasm's.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include "vendor/xxhash.h"

#include "hash_file.h"
#include "napi_util.h"

void concord_xxh3_128(const void *buf, size_t n, uint8_t out[16]) {
  XXH128_canonical_t c;
  XXH128_canonicalFromHash(&c, XXH3_128bits(buf, n));
  memcpy(out, c.digest, 16);
}

// The outcomes that are not a digest; the codes are read by src/endpoint/local/native-hash.ts.
// REPLACED: another file or kind at the path; CHANGED: its size or times moved since the scan.
enum { REPLACED = 1, CHANGED = 2, FAILED = 4 };
// Numbers per file in `expect`: inode, size, mtime and ctime as seconds and nanoseconds (in ns,
// an int64 ends in 2262).
enum { EXPECT = 6 };
// The call that failed, as NATIVE_CALLS in src/endpoint/local/native.ts names them.
enum { C_OPEN = 0, C_FSTAT = 1, C_READ = 2, C_MALLOC = 10 };

// A digest as 32 hex digits, in canonical (big-endian) order: hash-wasm's spelling.
static napi_value hex_of(napi_env env, const uint8_t digest[16]) {
  char hex[33];
  for (int i = 0; i < 16; i++) snprintf(hex + 2 * i, 3, "%02x", digest[i]);
  napi_value out;
  return napi_create_string_latin1(env, hex, 32, &out) == napi_ok ? out : NULL;
}

static napi_value outcome(napi_env env, int code, int err, int call) {
  napi_value out, v;
  int parts[3] = {code, err, call};
  if (napi_create_array_with_length(env, 3, &out) != napi_ok) return NULL;
  for (uint32_t i = 0; i < 3; i++)
    if (napi_create_int32(env, parts[i], &v) != napi_ok || napi_set_element(env, out, i, v))
      return NULL;
  return out;
}

// One file's outcome: code 0 with its digest (canonical order), or a code above and, for
// FAILED, the errno and the call.
typedef struct {
  int code, err, call;
  uint8_t digest[16];
} hashed_t;

// The file at `path` hashed, if it is still the regular file `expect` describes (inode, size,
// mtime and ctime as seconds and nanoseconds, as the scan saw it) once its bytes are read. The
// open is O_NONBLOCK: a FIFO put there is refused, not waited on. `buf` is scratch space of
// `cap` bytes.
//
// One fstat, after the read, against the scan's stat: a file with the same inode, size, mtime
// and ctime then was not written to since the scan, so neither before the read nor during it
// (a write moves ctime even when a tool puts mtime back). The read stops at the expected size,
// so a file grown meanwhile (which the fstat then refuses) or a device put at the path is not
// read on, and no read is spent to see the end. Against an fstat before and after and a read
// to the end, that is 4 system calls a small file instead of 6: a first --checksum run of
// 50,000 files on each side spent ~0.3 s less CPU.
static void hash_path(const char *path, const int64_t expect[EXPECT], unsigned char *buf,
                      size_t cap, hashed_t *h) {
  memset(h, 0, sizeof *h);
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    *h = (hashed_t){.code = FAILED, .err = errno, .call = C_OPEN};
    return;
  }
  XXH3_state_t state;
  XXH3_128bits_reset(&state);
  int64_t left = expect[1];
  int read_err = 0;
  while (left > 0) {
    ssize_t n = read(fd, buf, left < (int64_t)cap ? (size_t)left : cap);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      read_err = errno;
      break;
    }
    if (n == 0) break; // shorter than it was: the fstat below says so
    XXH3_128bits_update(&state, buf, (size_t)n);
    left -= n;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    *h = (hashed_t){.code = FAILED, .err = errno, .call = C_FSTAT};
    close(fd);
    return;
  }
  close(fd);
  // Something else at the path now (a directory fails its read with EISDIR): not this file.
  if (!S_ISREG(st.st_mode) || (uint64_t)st.st_ino != (uint64_t)expect[0]) {
    h->code = REPLACED;
    return;
  }
  if (read_err != 0) {
    *h = (hashed_t){.code = FAILED, .err = read_err, .call = C_READ};
    return;
  }
  if (st.st_size != expect[1] || st.st_mtim.tv_sec != expect[2] ||
      st.st_mtim.tv_nsec != expect[3] || st.st_ctim.tv_sec != expect[4] ||
      st.st_ctim.tv_nsec != expect[5]) {
    h->code = CHANGED;
    return;
  }
  XXH128_canonical_t c;
  XXH128_canonicalFromHash(&c, XXH3_128bits_digest(&state));
  memcpy(h->digest, c.digest, 16);
}

/**
 * hashFile(absPath, expect) -> the file's XXH3-128 as 32 hex digits, or [code, errno, call]:
 * code 1 when another file or another kind is at the path (`expect`, a BigInt64Array: inode,
 * size, mtime seconds and nanoseconds, ctime seconds and nanoseconds), 2 when it changed since
 * the scan (size, mtime or ctime moved), 4 when a call failed. Synchronous, on the calling
 * thread: the same checks as hashFileSync in src/endpoint/local/hash-file.ts.
 */
static napi_value hash_file(napi_env env, napi_callback_info info) {
  size_t argc = 2, len, n_expect;
  napi_value argv[2];
  char path[4096];
  int64_t *expect;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 ||
      napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len) != napi_ok ||
      len >= sizeof path - 1 ||
      !typed_array(env, argv[1], napi_bigint64_array, (void **)&expect, &n_expect) ||
      n_expect < EXPECT)
    return fail(env, "hashFile(absPath, BigInt64Array [ino, size, mtime s, ns, ctime s, ns])");
  unsigned char buf[65536];
  hashed_t h;
  hash_path(path, expect, buf, sizeof buf, &h);
  return h.code != 0 ? outcome(env, h.code, h.err, h.call) : hex_of(env, h.digest);
}

// A batch of hashAsync: the joined paths, EXPECT numbers per job, where the results go.
typedef struct {
  size_t count;
  char *paths;
  const char **path;
  int64_t *expect;
  double *out_data;
  batch_hold_t hold;
} hash_batch_t;

enum { HASH_RESULT = 7 };

// On a thread of libuv's pool: every job in turn, results straight into the caller's array
// (code, errno, call, then the digest as four 32-bit words, most significant first).
static void hash_execute(napi_env env, void *data) {
  (void)env;
  hash_batch_t *b = data;
  size_t cap = 1 << 16;
  unsigned char *buf = malloc(cap);
  for (size_t i = 0; i < b->count; i++) {
    double *r = b->out_data + HASH_RESULT * i;
    hashed_t h;
    if (buf) hash_path(b->path[i], b->expect + EXPECT * i, buf, cap, &h);
    else h = (hashed_t){.code = FAILED, .err = ENOMEM, .call = C_MALLOC};
    r[0] = h.code;
    r[1] = h.err;
    r[2] = h.call;
    digest_words(h.digest, r + 3);
  }
  free(buf);
}

static void hash_batch_free(napi_env env, hash_batch_t *b) {
  free(b->paths);
  free(b->path);
  free(b->expect);
  batch_release(env, &b->hold);
  free(b);
}

static void hash_complete(napi_env env, napi_status status, void *data) {
  hash_batch_t *b = data;
  batch_call_back(env, status, &b->hold, "concord native hash failed");
  hash_batch_free(env, b);
}

/**
 * hashAsync(paths, expect, out, callback): hashes `expect.length / 6` files, one after another
 * on a thread of libuv's pool, with hashFile's checks. `paths`: each job's absolute path
 * followed by '\0'; `expect` (a BigInt64Array) hashFile's six numbers per job;
 * `out`, a Float64Array of 7 per job, gets code, errno, call and the digest's four 32-bit
 * words before callback(error) runs on the main thread. A batch per directory instead of a
 * worker thread's message per file: structured clones and round trips took the main thread of
 * a first --checksum run more time than the hashing took its threads.
 */
static napi_value hash_async(napi_env env, napi_callback_info info) {
  size_t argc = 4, paths_len, n_expect, out_len;
  napi_value argv[4];
  int64_t *expect;
  void *out;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 4 ||
      napi_get_value_string_utf8(env, argv[0], NULL, 0, &paths_len) != napi_ok ||
      !typed_array(env, argv[1], napi_bigint64_array, (void **)&expect, &n_expect) ||
      !typed_array(env, argv[2], napi_float64_array, &out, &out_len) || n_expect % EXPECT != 0 ||
      out_len < n_expect / EXPECT * HASH_RESULT)
    return fail(env, "hashAsync(paths, BigInt64Array, Float64Array, callback)");
  hash_batch_t *b = calloc(1, sizeof *b);
  if (!b) return fail(env, "hashAsync: out of memory");
  b->count = n_expect / EXPECT;
  b->out_data = out;
  b->paths = malloc(paths_len + 1);
  b->path = calloc(b->count ? b->count : 1, sizeof *b->path);
  b->expect = malloc((n_expect ? n_expect : 1) * sizeof *b->expect);
  int ok = b->paths && b->path && b->expect &&
           napi_get_value_string_utf8(env, argv[0], b->paths, paths_len + 1, &paths_len) ==
               napi_ok;
  // The expected stats are copied: the caller's array may be reused once this returns.
  if (ok) memcpy(b->expect, expect, n_expect * sizeof *expect);
  const char *p = b->paths, *end = b->paths + paths_len;
  for (size_t i = 0; ok && i < b->count; i++) {
    const char *nul = memchr(p, '\0', (size_t)(end - p));
    if (!nul) ok = 0;
    else {
      b->path[i] = p;
      p = nul + 1;
    }
  }
  if (!ok) {
    hash_batch_free(env, b);
    return fail(env, "hashAsync: a path and four numbers per job expected");
  }
  if (!batch_queue(env, "concord.hashAsync", argv[2], argv[3], &b->hold, hash_execute,
                   hash_complete, b)) {
    hash_batch_free(env, b);
    return fail(env, "hashAsync: could not queue the hashes");
  }
  return NULL;
}

/** hashBytes(Uint8Array) -> its XXH3-128 as 32 hex digits (a copy's bytes, in memory). */
static napi_value hash_bytes(napi_env env, napi_callback_info info) {
  size_t argc = 1, n;
  napi_value argv[1];
  void *data;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      !typed_array(env, argv[0], napi_uint8_array, &data, &n))
    return fail(env, "hashBytes(Uint8Array)");
  uint8_t digest[16];
  concord_xxh3_128(data, n, digest);
  return hex_of(env, digest);
}

int concord_hash_init(napi_env env, napi_value exports) {
  napi_value fn;
  return napi_create_function(env, "hashFile", NAPI_AUTO_LENGTH, hash_file, NULL, &fn) ==
             napi_ok &&
         napi_set_named_property(env, exports, "hashFile", fn) == napi_ok &&
         napi_create_function(env, "hashBytes", NAPI_AUTO_LENGTH, hash_bytes, NULL, &fn) ==
             napi_ok &&
         napi_set_named_property(env, exports, "hashBytes", fn) == napi_ok &&
         napi_create_function(env, "hashAsync", NAPI_AUTO_LENGTH, hash_async, NULL, &fn) ==
             napi_ok &&
         napi_set_named_property(env, exports, "hashAsync", fn) == napi_ok;
}
