// One directory of a local root, listed the way src/endpoint/local/listing.ts does in
// JavaScript, in one call: getdents64, then fstatat per entry relative to the open directory
// (the kernel resolves one name, not the whole absolute path again), names sorted by bytes,
// and every stat field the engine compares packed into 32-bit words (core/packed.ts). It only
// reads: nothing here opens a file for writing or follows a symlink.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "copy_small.h"
#include "copy_sparse.h"
#include "digest.h"
#include "flock.h"
#include "hash_file.h"
#include "malloc_pad.h"
#include "set_times.h"
#include "rename.h"
#include "napi_util.h"

// The layout of core/packed.ts: WORDS words per entry at these offsets.
enum {
  W_KIND = 0,
  W_MODE = 1,
  W_SIZE_LO = 2,
  W_MTIME_S_LO = 4,
  W_MTIME_NS = 6,
  W_CTIME_S_LO = 7,
  W_CTIME_NS = 9,
  W_INO_LO = 10,
  WORDS = 12
};
enum { KIND_FILE = 0, KIND_DIR = 1, KIND_SYMLINK = 2 };

typedef struct {
  char **items;
  size_t len, cap;
} names_t;

static int push(names_t *n, const char *s) {
  if (n->len == n->cap) {
    size_t cap = n->cap ? n->cap * 2 : 64;
    char **grown = realloc(n->items, cap * sizeof(char *));
    if (!grown) return -1;
    n->items = grown;
    n->cap = cap;
  }
  char *copy = strdup(s);
  if (!copy) return -1;
  n->items[n->len++] = copy;
  return 0;
}

static void clear(names_t *n) {
  for (size_t i = 0; i < n->len; i++) free(n->items[i]);
  free(n->items);
}

// Byte order, which is the order of compareNames (core/path.ts) for valid UTF-8.
static int by_bytes(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

// Strict UTF-8 (no overlongs, no surrogates, nothing past U+10FFFF), as a round trip through a
// JavaScript string requires: a name that fails is listed by the JavaScript path, which
// reports it.
static int valid_utf8(const unsigned char *s) {
  while (*s) {
    unsigned c = *s;
    if (c < 0x80) {
      s++;
      continue;
    }
    int n;
    unsigned min;
    if ((c & 0xE0) == 0xC0) n = 1, min = 0x80, c &= 0x1F;
    else if ((c & 0xF0) == 0xE0) n = 2, min = 0x800, c &= 0x0F;
    else if ((c & 0xF8) == 0xF0) n = 3, min = 0x10000, c &= 0x07;
    else return 0;
    s++;
    for (int i = 0; i < n; i++, s++) {
      if ((*s & 0xC0) != 0x80) return 0;
      c = (c << 6) | (*s & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
  }
  return 1;
}

static void put_wide(int32_t *w, int64_t v) {
  w[0] = (int32_t)(uint32_t)((uint64_t)v & 0xFFFFFFFFu);
  w[1] = (int32_t)(uint32_t)((uint64_t)v >> 32);
}

// One directory's listing in C memory: made on any thread (it touches no JavaScript value),
// turned into JavaScript values on the main thread.
typedef struct {
  int err;      // errno of opening or reading the directory; 0 when listed
  int invalid;  // a name is not valid UTF-8
  names_t all;  // every name but . and .., sorted
  size_t *kept; // indices into `all` of the listed names
  size_t count; // listed names
  int32_t *words;
  names_t targets, leftovers, specials, failed;
  int *failed_errno;
  char digest[34]; // of names, words and targets (digest.h), once listed
} listing_t;

static void listing_free(listing_t *l) {
  clear(&l->all);
  clear(&l->targets);
  clear(&l->leftovers);
  clear(&l->specials);
  clear(&l->failed);
  free(l->kept);
  free(l->words);
  free(l->failed_errno);
  memset(l, 0, sizeof *l);
}

// What the engine's listingDigest (engine/twoway.ts) covers: the names, each entry's words but
// of a subdirectory only its kind and mode (its times and inode move with every change below
// it, which is decided when it is visited), and the symlink targets.
static void take_digest(listing_t *l) {
  digest_t d;
  digest_init(&d);
  uint64_t count = l->count;
  digest_update(&d, &count, sizeof count);
  for (size_t i = 0; i < l->count; i++) {
    const char *n = l->all.items[l->kept[i]];
    digest_update(&d, n, strlen(n) + 1);
  }
  for (size_t i = 0; i < l->count; i++) {
    const int32_t *w = l->words + i * WORDS;
    digest_update(&d, w, (w[W_KIND] == KIND_DIR ? W_SIZE_LO : WORDS) * sizeof(int32_t));
  }
  for (size_t i = 0; i < l->targets.len; i++)
    digest_update(&d, l->targets.items[i], strlen(l->targets.items[i]) + 1);
  digest_hex(&d, l->digest);
}

static int is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }
static int is_base36(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z'); }

// Whether a name, past the temporary prefix, is one our temporary files are given: 8 hex digits,
// base-36 digits, '-' (copies), or 'probe-' and 12 hex digits (probes). listing.ts isTempName
// says the same; a user's `.concord-tmp-notes` is no leftover.
static int is_temp_name(const char *rest) {
  if (strncmp(rest, "probe-", 6) == 0) {
    for (int i = 0; i < 12; i++)
      if (!is_hex(rest[6 + i])) return 0;
    return rest[18] == '\0';
  }
  for (int i = 0; i < 8; i++)
    if (!is_hex(rest[i])) return 0;
  rest += 8;
  while (is_base36(*rest)) rest++;
  return *rest == '-';
}

// getdents64's buffer: glibc's readdir reads 32 KiB at a time too.
enum { DIRENTS_BYTES = 32768 };

// Returns 0, or -1 when memory ran out (the listing is then incomplete: fail the call).
// getdents64 on the open directory rather than fdopendir and readdir: those add an fstat and
// two fcntl calls per directory (12,000 system calls in a no-op of 4,000 directories, each
// ~1 us on our VM) to check what O_DIRECTORY already did.
static int list_into(const char *path, const char *skip, const char *prefix, listing_t *l) {
  size_t prefix_len = strlen(prefix);
  int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) {
    l->err = errno;
    return 0;
  }
  int rc = -1;
  char *dirents = malloc(DIRENTS_BYTES);
  if (!dirents) goto out;
  for (;;) {
    ssize_t got = getdents64(dfd, dirents, DIRENTS_BYTES);
    if (got < 0) {
      l->err = errno;
      rc = 0;
      goto out;
    }
    if (got == 0) break;
    for (ssize_t at = 0; at < got;) {
      const struct dirent64 *d = (const struct dirent64 *)(dirents + at);
      at += d->d_reclen;
      const char *n = d->d_name;
      if (n[0] == '.' && (n[1] == '\0' || (n[1] == '.' && n[2] == '\0'))) continue;
      if (!valid_utf8((const unsigned char *)n)) {
        l->invalid = 1;
        rc = 0;
        goto out;
      }
      if (push(&l->all, n)) goto out;
    }
  }
  qsort(l->all.items, l->all.len, sizeof(char *), by_bytes);
  size_t n_all = l->all.len ? l->all.len : 1;
  l->words = calloc(n_all * WORDS, sizeof(int32_t));
  l->kept = malloc(n_all * sizeof(size_t));
  l->failed_errno = malloc(n_all * sizeof(int));
  if (!l->words || !l->kept || !l->failed_errno) goto out;
  // A symlink's target is at most PATH_MAX - 1 (4095) bytes on Linux: one byte more than that
  // read back means the target did not fit.
  char link[4096 + 2];
  for (size_t i = 0; i < l->all.len; i++) {
    const char *n = l->all.items[i];
    if (skip[0] && strcmp(n, skip) == 0) continue;
    if (prefix_len && strncmp(n, prefix, prefix_len) == 0 && is_temp_name(n + prefix_len)) {
      if (push(&l->leftovers, n)) goto out;
      continue;
    }
    struct stat st;
    ssize_t link_len = 0;
    int err = 0;
    if (fstatat(dfd, n, &st, AT_SYMLINK_NOFOLLOW) != 0) err = errno;
    else if (S_ISLNK(st.st_mode)) {
      link_len = readlinkat(dfd, n, link, sizeof link - 1);
      if (link_len < 0) err = errno;
      else if ((size_t)link_len == sizeof link - 1) err = ENAMETOOLONG;
    }
    if (err == ENOENT) continue; // gone since readdir, as lstat's ENOENT in JavaScript
    if (err) {
      l->failed_errno[l->failed.len] = err;
      if (push(&l->failed, n)) goto out;
      continue;
    }
    int kind = S_ISREG(st.st_mode)   ? KIND_FILE
               : S_ISDIR(st.st_mode) ? KIND_DIR
               : S_ISLNK(st.st_mode) ? KIND_SYMLINK
                                     : -1;
    if (kind < 0) {
      if (push(&l->specials, n)) goto out;
      continue;
    }
    int32_t *w = l->words + l->count * WORDS;
    w[W_KIND] = kind;
    w[W_MODE] = kind == KIND_SYMLINK ? 0 : (int32_t)(st.st_mode & 07777);
    put_wide(w + W_SIZE_LO, kind == KIND_FILE ? (int64_t)st.st_size : 0);
    put_wide(w + W_MTIME_S_LO, (int64_t)st.st_mtim.tv_sec);
    w[W_MTIME_NS] = (int32_t)st.st_mtim.tv_nsec;
    put_wide(w + W_CTIME_S_LO, (int64_t)st.st_ctim.tv_sec);
    w[W_CTIME_NS] = (int32_t)st.st_ctim.tv_nsec;
    put_wide(w + W_INO_LO, (int64_t)st.st_ino);
    if (kind == KIND_SYMLINK) {
      link[link_len] = '\0';
      if (push(&l->targets, link)) goto out;
    }
    l->kept[l->count++] = i;
  }
  take_digest(l);
  rc = 0;
out:
  free(dirents);
  close(dfd);
  return rc;
}

#define CHECK(call)                                                                            \
  do {                                                                                         \
    if ((call) != napi_ok) return NULL;                                                        \
  } while (0)

static napi_value joined(napi_env env, names_t *n, size_t *idx, size_t count) {
  size_t bytes = 0;
  for (size_t i = 0; i < count; i++) bytes += strlen(n->items[idx ? idx[i] : i]) + 1;
  char *buf = malloc(bytes ? bytes : 1);
  if (!buf) return NULL;
  size_t at = 0;
  for (size_t i = 0; i < count; i++) {
    const char *s = n->items[idx ? idx[i] : i];
    size_t len = strlen(s);
    if (i > 0) buf[at++] = '\0';
    memcpy(buf + at, s, len);
    at += len;
  }
  napi_value out = NULL;
  napi_status st = napi_create_string_utf8(env, buf, at, &out);
  free(buf);
  return st == napi_ok ? out : NULL;
}

static napi_value string_array(napi_env env, names_t *n) {
  napi_value out, item;
  CHECK(napi_create_array_with_length(env, n->len, &out));
  for (size_t i = 0; i < n->len; i++) {
    CHECK(napi_create_string_utf8(env, n->items[i], NAPI_AUTO_LENGTH, &item));
    CHECK(napi_set_element(env, out, (uint32_t)i, item));
  }
  return out;
}

// The listing as what native.ts calls a NativeListing; NULL when a call failed.
static napi_value to_js(napi_env env, listing_t *l) {
  napi_value result;
  if (l->err) {
    CHECK(napi_create_int32(env, l->err, &result));
    return result;
  }
  if (l->invalid) {
    CHECK(napi_get_null(env, &result));
    return result;
  }
  napi_value buffer, array, failures, item;
  void *data;
  size_t bytes = l->count * WORDS * sizeof(int32_t);
  CHECK(napi_create_arraybuffer(env, bytes, &data, &buffer));
  if (bytes) memcpy(data, l->words, bytes);
  CHECK(napi_create_typedarray(env, napi_int32_array, l->count * WORDS, buffer, 0, &array));
  CHECK(napi_create_array_with_length(env, l->failed.len * 2, &failures));
  for (size_t i = 0; i < l->failed.len; i++) {
    CHECK(napi_create_string_utf8(env, l->failed.items[i], NAPI_AUTO_LENGTH, &item));
    CHECK(napi_set_element(env, failures, (uint32_t)(2 * i), item));
    CHECK(napi_create_int32(env, l->failed_errno[i], &item));
    CHECK(napi_set_element(env, failures, (uint32_t)(2 * i + 1), item));
  }
  napi_value digest;
  CHECK(napi_create_string_latin1(env, l->digest, NAPI_AUTO_LENGTH, &digest));
  napi_value parts[7] = {
      joined(env, &l->all, l->kept, l->count),  array,
      string_array(env, &l->targets),           joined(env, &l->leftovers, NULL, l->leftovers.len),
      joined(env, &l->specials, NULL, l->specials.len), failures,
      digest,
  };
  CHECK(napi_create_array_with_length(env, 7, &result));
  for (uint32_t i = 0; i < 7; i++) {
    if (!parts[i]) return NULL;
    CHECK(napi_set_element(env, result, i, parts[i]));
  }
  return result;
}

static char *string_arg(napi_env env, napi_value v) {
  size_t len;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return NULL;
  char *s = malloc(len + 1);
  if (s && napi_get_value_string_utf8(env, v, s, len + 1, &len) != napi_ok) {
    free(s);
    return NULL;
  }
  return s;
}

// A call's directories and their listings, made on any thread, answered on the main thread:
// the `given` directories first asked for, then those found below them (up to `budget` in all).
typedef struct {
  char **paths;
  listing_t *listings;
  size_t count, cap, given;
  size_t budget;
  char *skip, *prefix;
  int rc;
  napi_ref callback;
  napi_async_work work;
} request_t;

static void request_free(napi_env env, request_t *r) {
  for (size_t i = 0; i < r->count; i++) {
    listing_free(&r->listings[i]);
    free(r->paths[i]);
  }
  free(r->paths);
  free(r->listings);
  free(r->skip);
  free(r->prefix);
  if (r->callback) napi_delete_reference(env, r->callback);
  if (r->work) napi_delete_async_work(env, r->work);
  free(r);
}

// Room for one more directory; -1 when memory ran out.
static int reserve(request_t *r) {
  if (r->count < r->cap) return 0;
  size_t cap = r->cap ? r->cap * 2 : 16;
  char **paths = realloc(r->paths, cap * sizeof(char *));
  if (!paths) return -1;
  r->paths = paths;
  listing_t *listings = realloc(r->listings, cap * sizeof(listing_t));
  if (!listings) return -1;
  memset(listings + r->cap, 0, (cap - r->cap) * sizeof(listing_t));
  r->listings = listings;
  r->cap = cap;
  return 0;
}

// A request for `paths` (a string, or an array of strings) and the skip and prefix strings;
// NULL when an argument is not what it should be.
static request_t *request_from(napi_env env, napi_value paths, napi_value skip,
                               napi_value prefix) {
  request_t *r = calloc(1, sizeof *r);
  if (!r) return NULL;
  bool is_array = false;
  uint32_t n = 1;
  napi_value item = paths;
  if (napi_is_array(env, paths, &is_array) != napi_ok) goto bad;
  if (is_array && napi_get_array_length(env, paths, &n) != napi_ok) goto bad;
  for (uint32_t i = 0; i < n; i++) {
    if (is_array && napi_get_element(env, paths, i, &item) != napi_ok) goto bad;
    if (reserve(r)) goto bad;
    r->paths[r->count] = string_arg(env, item);
    if (!r->paths[r->count]) goto bad;
    r->count++;
  }
  r->given = r->count;
  r->skip = string_arg(env, skip);
  r->prefix = string_arg(env, prefix);
  if (!r->skip || !r->prefix) goto bad;
  return r;
bad:
  request_free(env, r);
  return NULL;
}

// Lists the subdirectories below listing `at` depth-first, in byte order, until the request
// holds `budget` listings. Returns 0, or -1 when memory ran out.
static int descend(request_t *r, size_t at) {
  names_t stack = {0};
  int rc = 0;
  // Pushes the subdirectories of listing i, the first one last (it is listed next).
  for (size_t i = at;;) {
    listing_t *l = &r->listings[i];
    for (size_t k = l->count; k-- > 0;) {
      if (l->words[k * WORDS + W_KIND] != KIND_DIR) continue;
      const char *name = l->all.items[l->kept[k]];
      size_t len = strlen(r->paths[i]) + 1 + strlen(name) + 1;
      char *path = malloc(len);
      if (!path) goto fail;
      const char *parent_path = r->paths[i];
      size_t parent_len = strlen(parent_path);
      // The root "/" ends with the separator already.
      snprintf(path, len, "%s%s%s", parent_path,
               parent_len && parent_path[parent_len - 1] == '/' ? "" : "/", name);
      int pushed = push(&stack, path);
      free(path);
      if (pushed) goto fail;
    }
    if (stack.len == 0 || r->count >= r->budget) break;
    if (reserve(r)) goto fail;
    i = r->count;
    r->paths[i] = stack.items[--stack.len];
    r->count++;
    if (list_into(r->paths[i], "", r->prefix, &r->listings[i])) goto fail;
  }
  goto out;
fail:
  rc = -1;
out:
  clear(&stack);
  return rc;
}

/**
 * list(absDir, skip, tempPrefix) -> number (errno of opening or reading the directory), null
 * (a name is not valid UTF-8: list it in JavaScript), or
 * [names, words, targets, leftovers, specials, failures, digest]:
 *   names     listed names in byte order, joined by '\0' ('' for none)
 *   words     Int32Array, WORDS per listed name
 *   targets   symlink targets, in the order of the symlinks among the names
 *   leftovers names starting with tempPrefix (not stat-ed), joined by '\0'
 *   specials  FIFOs, sockets and devices, joined by '\0'
 *   failures  [name, errno, ...] for entries that could not be stat-ed or read
 *   digest    of names, words and targets (digest.h): what the engine compares with the
 *             digest it stored when it last found the directory quiet
 * `skip` is a name left out entirely (the root's state folder), or '' for none. An entry gone
 * between readdir and fstatat is left out.
 */
static napi_value list(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 3)
    return fail(env, "list(absDir, skip, tempPrefix)");
  request_t *r = request_from(env, argv[0], argv[1], argv[2]);
  if (!r) return fail(env, "list: string arguments expected");
  napi_value result = NULL;
  if (list_into(r->paths[0], r->skip, r->prefix, &r->listings[0]) == 0)
    result = to_js(env, &r->listings[0]);
  request_free(env, r);
  return result ? result : fail(env, "concord native list failed (out of memory?)");
}

static void execute(napi_env env, void *data) {
  request_t *r = data;
  // The given directories' paths stay at 0..given-1; what descend() finds goes after them.
  for (size_t i = 0; i < r->given && r->rc == 0; i++) {
    r->rc = list_into(r->paths[i], r->skip, r->prefix, &r->listings[i]);
    if (r->rc == 0 && r->count < r->budget) r->rc = descend(r, i);
  }
}

// [listings, paths]: every listing of the request and the directory it lists.
static napi_value to_js_all(napi_env env, request_t *r) {
  napi_value out, listings, paths, item;
  CHECK(napi_create_array_with_length(env, r->count, &listings));
  CHECK(napi_create_array_with_length(env, r->count, &paths));
  for (size_t i = 0; i < r->count; i++) {
    if (!(item = to_js(env, &r->listings[i]))) return NULL;
    CHECK(napi_set_element(env, listings, (uint32_t)i, item));
    CHECK(napi_create_string_utf8(env, r->paths[i], NAPI_AUTO_LENGTH, &item));
    CHECK(napi_set_element(env, paths, (uint32_t)i, item));
  }
  CHECK(napi_create_array_with_length(env, 2, &out));
  CHECK(napi_set_element(env, out, 0, listings));
  CHECK(napi_set_element(env, out, 1, paths));
  return out;
}

static void complete(napi_env env, napi_status status, void *data) {
  request_t *r = data;
  napi_value args[2];
  napi_get_undefined(env, &args[0]);
  napi_get_undefined(env, &args[1]);
  if (status != napi_ok || r->rc != 0) {
    napi_create_string_utf8(env, "concord native list failed (out of memory?)", NAPI_AUTO_LENGTH,
                            &args[0]);
  } else if (!(args[1] = to_js_all(env, r))) {
    // A failed conversion left an exception pending: hand it to the callback instead.
    napi_get_and_clear_last_exception(env, &args[0]);
    napi_get_undefined(env, &args[1]);
  }
  call_back(env, r->callback, 2, args);
  request_free(env, r);
}

/**
 * listAsync(absDirs, skip, tempPrefix, budget, callback): the listings of `absDirs` made on one
 * thread of libuv's pool, one after another, each followed by the directories below it,
 * depth-first in byte order, while the call holds fewer than `budget` listings (0: none below).
 * callback(error, [listings, paths]) on the main thread, paths[i] being what listings[i] lists;
 * `skip` applies to `absDirs` only. One call per directory cost ~20-70 us of the main thread's
 * time each (waking a pool thread, on a VM an interrupt between cores), more than a small
 * directory takes to list; and a walk that asks JavaScript before each step down falls behind
 * the engine, which then asks for each next directory itself.
 */
static napi_value list_async(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  uint32_t budget = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 5 ||
      napi_get_value_uint32(env, argv[3], &budget) != napi_ok)
    return fail(env, "listAsync(absDirs, skip, tempPrefix, budget, callback)");
  request_t *r = request_from(env, argv[0], argv[1], argv[2]);
  if (!r) return fail(env, "listAsync: an array of strings and two strings expected");
  r->budget = budget;
  if (!queue_work(env, "concord.listAsync", argv[4], &r->callback, execute, complete, r,
                  &r->work)) {
    request_free(env, r);
    return fail(env, "listAsync: could not queue the listing");
  }
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "list", NAPI_AUTO_LENGTH, list, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "list", fn) != napi_ok ||
      napi_create_function(env, "listAsync", NAPI_AUTO_LENGTH, list_async, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "listAsync", fn) != napi_ok ||
      !concord_copy_init(env, exports) || !concord_hash_init(env, exports) ||
      !concord_flock_init(env, exports) || !concord_sparse_init(env, exports) ||
      !concord_malloc_pad_init(env, exports) || !concord_set_times_init(env, exports) ||
      !concord_rename_init(env, exports))
    return NULL;
  return exports;
}
