// Concord's native small-file copy: the whole copy of a new file (open, read, write into a
// temporary name, mode, times, re-check of the source, rename that refuses to replace) made in
// C on a thread of libuv's pool, a batch of files per call. The same steps as copyFileAtomic in
// src/endpoint/local/copy-file.ts, without a worker thread's message per batch and Node's
// per-call costs; it serves only the simplest case (a file new on the target, no old version to
// keep), and everything else stays in JavaScript. When asked, it hashes the bytes it wrote
// (XXH3-128, as two-way records them).
#define _GNU_SOURCE
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
#include "hash_file.h"
#include "napi_util.h"

// What became of one job; the codes are read by src/endpoint/local/native-copy.ts.
enum { COPIED = 0, SOURCE_CHANGED_BEFORE = 1, SOURCE_CHANGED_WHILE = 2, TARGET_APPEARED = 3, FAILED = 4 };
// Which of the job's paths a failed call was about.
enum { AT_SRC = 0, AT_TMP = 1, AT_DST = 2 };

typedef struct {
  const char *src, *tmp, *dst;
  uint64_t ino;
  int64_t size;
  // Times as seconds and nanoseconds: in ns, an int64 ends in 2262 (a file stamped 2400 was
  // given a time of 1901).
  struct timespec expect_mtime, mtime;
  uint32_t mode;
  bool fsync, hash;
  uint8_t digest[16];
  // Whether this call made tmp (only then is it removed after a failure).
  bool made_tmp;
  // The outcome: code, and for FAILED the errno, the call and the path it was about.
  int code, err, at, call;
  int64_t bytes;
} job_t;

typedef struct {
  job_t *jobs;
  size_t count;
  // Every job's three paths, each ending in a NUL, as JavaScript joined them.
  char *paths;
  // Where the results go: RESULT doubles per job (see results()).
  double *out_data;
  batch_hold_t hold;
} batch_t;

static bool same_time(struct timespec a, struct timespec b) {
  return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

// The calls a copy makes, by index: CALLS in src/endpoint/local/native-copy.ts names them.
enum { C_OPEN, C_FSTAT, C_READ, C_WRITE, C_FCHMOD, C_FUTIME, C_FSYNC, C_CLOSE, C_RENAME, C_LSTAT, C_MALLOC };

static void failed(job_t *j, int err, int call, int at) {
  j->code = FAILED;
  j->err = err;
  j->call = call;
  j->at = at;
}

static int write_all(int fd, const char *buf, int64_t n) {
  int64_t off = 0;
  while (off < n) {
    ssize_t w = write(fd, buf + off, (size_t)(n - off));
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    off += w;
  }
  return 0;
}

// Reads what the scan saw of the file (its size); a file that grew or shrank since is caught
// by the second fstat, as in JavaScript.
static int64_t read_all(int fd, char *buf, int64_t size) {
  int64_t total = 0;
  while (total < size) {
    ssize_t n = pread(fd, buf + total, (size_t)(size - total), total);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (n == 0) break;
    total += n;
  }
  return total;
}

// The rename that commits the copy, refusing to replace anything (S16: the plan saw no file at
// dst). Where the file system has no RENAME_NOREPLACE (some FUSE drivers), an lstat first, as
// JavaScript does it.
static void commit(job_t *j) {
  if (renameat2(AT_FDCWD, j->tmp, AT_FDCWD, j->dst, RENAME_NOREPLACE) == 0) return;
  if (errno == EEXIST) {
    j->code = TARGET_APPEARED;
    return;
  }
  if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP) {
    failed(j, errno, C_RENAME, AT_DST);
    return;
  }
  struct stat st;
  if (lstat(j->dst, &st) == 0) {
    j->code = TARGET_APPEARED;
    return;
  }
  if (errno != ENOENT) {
    failed(j, errno, C_LSTAT, AT_DST);
    return;
  }
  if (rename(j->tmp, j->dst) != 0) failed(j, errno, C_RENAME, AT_DST);
}

// Into tmp from the open source `in`, whose fstat was `before`; leaves tmp behind only when
// the copy is complete.
static void copy_into_tmp(job_t *j, int in, const struct stat *before, char *buf) {
  int64_t total = read_all(in, buf, j->size);
  if (total < 0) {
    failed(j, errno, C_READ, AT_SRC);
    return;
  }
  // The bytes written, which the second fstat below vouches for as one version of the source.
  if (j->hash) concord_xxh3_128(buf, (size_t)total, j->digest);
  int out = open(j->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (out < 0) {
    failed(j, errno, C_OPEN, AT_TMP);
    return;
  }
  j->made_tmp = true;
  struct stat after;
  struct timespec times[2] = {{0, UTIME_NOW}, j->mtime};
  if (write_all(out, buf, total) != 0) {
    failed(j, errno, C_WRITE, AT_TMP);
  } else if (fstat(in, &after) != 0) {
    failed(j, errno, C_FSTAT, AT_SRC);
  } else if (after.st_size != before->st_size || !same_time(after.st_mtim, before->st_mtim) ||
             !same_time(after.st_ctim, before->st_ctim)) {
    j->code = SOURCE_CHANGED_WHILE;
  } else if (fchmod(out, j->mode) != 0) {
    failed(j, errno, C_FCHMOD, AT_TMP);
  } else if (futimens(out, times) != 0) {
    failed(j, errno, C_FUTIME, AT_TMP);
  } else if (j->fsync && fsync(out) != 0) {
    failed(j, errno, C_FSYNC, AT_TMP);
  }
  // close() can report a write the kernel could not finish (NFS): the copy is not made then.
  if (close(out) != 0 && j->code == COPIED) failed(j, errno, C_CLOSE, AT_TMP);
  j->bytes = total;
}

static void copy_one(job_t *j, char *buf) {
  // O_NONBLOCK: a source replaced by a FIFO since the scan opens at once (and is refused by the
  // fstat below) instead of waiting for a writer; it changes nothing for a regular file.
  int in = open(j->src, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (in < 0) {
    failed(j, errno, C_OPEN, AT_SRC);
    return;
  }
  struct stat before;
  if (fstat(in, &before) != 0) {
    failed(j, errno, C_FSTAT, AT_SRC);
  } else if (!S_ISREG(before.st_mode) || (uint64_t)before.st_ino != j->ino ||
             before.st_size != j->size || !same_time(before.st_mtim, j->expect_mtime)) {
    j->code = SOURCE_CHANGED_BEFORE;
  } else {
    copy_into_tmp(j, in, &before, buf);
    if (j->code == COPIED) commit(j);
    if (j->code != COPIED && j->made_tmp) unlink(j->tmp);
  }
  close(in);
}

static void execute(napi_env env, void *data) {
  batch_t *b = data;
  int64_t most = 1;
  for (size_t i = 0; i < b->count; i++)
    if (b->jobs[i].size > most) most = b->jobs[i].size;
  char *buf = malloc((size_t)most);
  for (size_t i = 0; i < b->count; i++) {
    if (buf) copy_one(&b->jobs[i], buf);
    else failed(&b->jobs[i], ENOMEM, C_MALLOC, AT_SRC);
  }
  free(buf);
}

static void batch_free(napi_env env, batch_t *b) {
  free(b->jobs);
  free(b->paths);
  batch_release(env, &b->hold);
  free(b);
}

enum { RESULT = 8, JOB_NUMS = 8 };

// Into the caller's Float64Array, RESULT per job: code, then the bytes copied (code 0) or the
// errno, the call and which path (0 src, 1 tmp, 2 dst); then, for a hash asked for, its 16
// bytes (canonical order) as four 32-bit words.
static void results(batch_t *b) {
  for (size_t i = 0; i < b->count; i++) {
    job_t *j = &b->jobs[i];
    double *r = b->out_data + RESULT * i;
    r[0] = j->code;
    r[1] = j->code == COPIED ? (double)j->bytes : j->err;
    r[2] = j->call;
    r[3] = j->at;
    digest_words(j->digest, r + 4);
  }
}

static void complete(napi_env env, napi_status status, void *data) {
  batch_t *b = data;
  if (status == napi_ok) results(b);
  batch_call_back(env, status, &b->hold, "concord native copy failed");
  batch_free(env, b);
}

// The jobs from the joined paths and 8 int64 per job: ino, size, the expected mtime (seconds,
// then nanoseconds), mode, the mtime to set (seconds, nanoseconds), flags (1: fsync, 2: hash
// the bytes).
static int jobs_from(batch_t *b, size_t paths_len, const int64_t *nums) {
  const char *p = b->paths, *end = b->paths + paths_len;
  for (size_t i = 0; i < b->count; i++) {
    job_t *j = &b->jobs[i];
    const char **slot[3] = {&j->src, &j->tmp, &j->dst};
    for (int k = 0; k < 3; k++) {
      const char *nul = memchr(p, '\0', (size_t)(end - p));
      if (!nul) return 0;
      *slot[k] = p;
      p = nul + 1;
    }
    const int64_t *n = nums + JOB_NUMS * i;
    j->ino = (uint64_t)n[0];
    j->size = n[1];
    j->expect_mtime = (struct timespec){(time_t)n[2], (long)n[3]};
    j->mode = (uint32_t)n[4];
    j->mtime = (struct timespec){(time_t)n[5], (long)n[6]};
    j->fsync = (n[7] & 1) != 0;
    j->hash = (n[7] & 2) != 0;
    if (j->size < 0 || n[3] < 0 || n[3] > 999999999 || n[6] < 0 || n[6] > 999999999) return 0;
  }
  return 1;
}

/**
 * copyAsync(paths, nums, out, callback): copies `nums.length / 8` files, one after another on a
 * thread of libuv's pool. `paths` holds each job's source, temporary name and target, each
 * followed by '\0'; `nums` (a BigInt64Array) 8 numbers per job: inode, size and mtime (seconds,
 * nanoseconds) the scan saw, the mode and mtime (seconds, nanoseconds) to give, flags (1:
 * fsync, 2: hash). `out`, a Float64Array of 8 per
 * job, gets the results before callback(error) runs on the main thread. Flat arguments, not an array per
 * job: N-API's element reads cost ~14 us a job, most of the copy's time on the main thread.
 */
static napi_value copy_async(napi_env env, napi_callback_info info) {
  size_t argc = 4, paths_len, nums_len, out_len;
  napi_value argv[4];
  int64_t *nums;
  void *out;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 4 ||
      napi_get_value_string_utf8(env, argv[0], NULL, 0, &paths_len) != napi_ok ||
      !typed_array(env, argv[1], napi_bigint64_array, (void **)&nums, &nums_len) ||
      !typed_array(env, argv[2], napi_float64_array, &out, &out_len) || nums_len % JOB_NUMS != 0 ||
      out_len < nums_len / JOB_NUMS * RESULT)
    return fail(env, "copyAsync(paths, BigInt64Array, Float64Array, callback)");
  batch_t *b = calloc(1, sizeof *b);
  if (!b) return fail(env, "copyAsync: out of memory");
  b->count = nums_len / JOB_NUMS;
  b->out_data = out;
  b->jobs = calloc(b->count ? b->count : 1, sizeof *b->jobs);
  b->paths = malloc(paths_len + 1);
  if (!b->jobs || !b->paths ||
      napi_get_value_string_utf8(env, argv[0], b->paths, paths_len + 1, &paths_len) != napi_ok ||
      !jobs_from(b, paths_len, nums)) {
    batch_free(env, b);
    return fail(env, "copyAsync: three paths and six numbers per job expected");
  }
  if (!batch_queue(env, "concord.copyAsync", argv[2], argv[3], &b->hold, execute, complete, b)) {
    batch_free(env, b);
    return fail(env, "copyAsync: could not queue the copies");
  }
  return NULL;
}

int concord_copy_init(napi_env env, napi_value exports) {
  napi_value fn;
  return napi_create_function(env, "copyAsync", NAPI_AUTO_LENGTH, copy_async, NULL, &fn) ==
             napi_ok &&
         napi_set_named_property(env, exports, "copyAsync", fn) == napi_ok;
}
