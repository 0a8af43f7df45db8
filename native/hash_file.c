// XXH3-128 in C (xxHash's own header, vendored): the hash of a file for the engine's main thread
// without loading hash-wasm (its WebAssembly took ~80 ms of a two-way edit run before the first
// hash), and of the bytes a native copy wrote (copy_small.c). The same digests as hash-wasm's.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
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
enum { CHANGED_BEFORE = 1, CHANGED_WHILE = 2, FAILED = 4 };
// The call that failed, as NATIVE_CALLS in src/endpoint/local/native.ts names them.
enum { C_OPEN = 0, C_FSTAT = 1, C_READ = 2 };

static int64_t ns(struct timespec t) { return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec; }

// The digest as 32 hex digits, in canonical (big-endian) order: hash-wasm's spelling.
static napi_value hex_of(napi_env env, XXH128_hash_t h) {
  XXH128_canonical_t c;
  XXH128_canonicalFromHash(&c, h);
  char hex[33];
  for (int i = 0; i < 16; i++) snprintf(hex + 2 * i, 3, "%02x", c.digest[i]);
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

/**
 * hashFile(absPath, expect) -> the file's XXH3-128 as 32 hex digits, or [code, errno, call]:
 * code 1 when the file is not the regular file `expect` (a BigInt64Array: inode, size, mtime
 * ns) describes, 2 when it changed while it was read (size, mtime or ctime moved), 4 when a
 * call failed. Synchronous, on the calling thread: the same checks as hashFileSync in
 * src/endpoint/local/hash-file.ts. The open is O_NONBLOCK: a FIFO put there is refused, not
 * waited on.
 */
static napi_value hash_file(napi_env env, napi_callback_info info) {
  size_t argc = 2, len, n_expect;
  napi_value argv[2];
  char path[4096];
  int64_t *expect;
  napi_typedarray_type type;
  bool is;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 ||
      napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len) != napi_ok ||
      len >= sizeof path - 1 || napi_is_typedarray(env, argv[1], &is) != napi_ok || !is ||
      napi_get_typedarray_info(env, argv[1], &type, &n_expect, (void **)&expect, NULL, NULL) !=
          napi_ok ||
      type != napi_bigint64_array || n_expect < 3)
    return fail(env, "hashFile(absPath, BigInt64Array [ino, size, mtimeNs])");
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return outcome(env, FAILED, errno, C_OPEN);
  struct stat before, after;
  if (fstat(fd, &before) != 0) {
    int err = errno;
    close(fd);
    return outcome(env, FAILED, err, C_FSTAT);
  }
  if (!S_ISREG(before.st_mode) || (uint64_t)before.st_ino != (uint64_t)expect[0] ||
      before.st_size != expect[1] || ns(before.st_mtim) != expect[2]) {
    close(fd);
    return outcome(env, CHANGED_BEFORE, 0, 0);
  }
  XXH3_state_t state;
  XXH3_128bits_reset(&state);
  unsigned char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      return outcome(env, FAILED, err, C_READ);
    }
    if (n == 0) break;
    XXH3_128bits_update(&state, buf, (size_t)n);
  }
  int changed = fstat(fd, &after) != 0 || after.st_size != before.st_size ||
                ns(after.st_mtim) != ns(before.st_mtim) || ns(after.st_ctim) != ns(before.st_ctim);
  close(fd);
  if (changed) return outcome(env, CHANGED_WHILE, 0, 0);
  return hex_of(env, XXH3_128bits_digest(&state));
}

/** hashBytes(Uint8Array) -> its XXH3-128 as 32 hex digits (a copy's bytes, in memory). */
static napi_value hash_bytes(napi_env env, napi_callback_info info) {
  size_t argc = 1, n;
  napi_value argv[1];
  napi_typedarray_type type;
  void *data;
  bool is;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_is_typedarray(env, argv[0], &is) != napi_ok || !is ||
      napi_get_typedarray_info(env, argv[0], &type, &n, &data, NULL, NULL) != napi_ok ||
      type != napi_uint8_array)
    return fail(env, "hashBytes(Uint8Array)");
  return hex_of(env, XXH3_128bits(data, n));
}

int concord_hash_init(napi_env env, napi_value exports) {
  napi_value fn;
  return napi_create_function(env, "hashFile", NAPI_AUTO_LENGTH, hash_file, NULL, &fn) ==
             napi_ok &&
         napi_set_named_property(env, exports, "hashFile", fn) == napi_ok &&
         napi_create_function(env, "hashBytes", NAPI_AUTO_LENGTH, hash_bytes, NULL, &fn) ==
             napi_ok &&
         napi_set_named_property(env, exports, "hashBytes", fn) == napi_ok;
}
