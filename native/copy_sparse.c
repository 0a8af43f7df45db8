// A copy of a sparse file that stays sparse: only the source's data ranges (SEEK_DATA,
// SEEK_HOLE) are copied, in the kernel where it can (copy_file_range), and the file is then
// given its full size. libuv's copyfile (copy_file_range or sendfile over the whole file) wrote
// a 200 MiB image holding 4 KiB of data as 200 MiB of zeros; cp keeps its holes, and a
// destination as large as the disk it sits on is no copy a user wants. Synchronous: it runs on
// the copy's worker thread (copy-file.ts copyLarge).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "copy_sparse.h"
#include "napi_util.h"

enum { BUF_BYTES = 1 << 20 };

typedef struct {
  int err;
  const char *call;
  int at; // 0 the source, 1 the new file
} outcome_t;

static int fail_with(outcome_t *o, const char *call, int at) {
  o->err = errno;
  o->call = call;
  o->at = at;
  return -1;
}

// Bytes [off, end) of `in` into the same place of `out`: copy_file_range, else read and write.
static int copy_range(int in, int out, off_t off, off_t end, char **buf, outcome_t *o) {
  int kernel = 1;
  while (off < end) {
    size_t want = (size_t)(end - off);
    ssize_t n;
    if (kernel) {
      off_t from = off, to = off;
      n = copy_file_range(in, &from, out, &to, want, 0);
      if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP ||
                    errno == EINVAL)) {
        kernel = 0; // not between these two files: through memory
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return fail_with(o, "copy_file_range", 0);
    } else {
      if (!*buf && !(*buf = malloc(BUF_BYTES))) return errno = ENOMEM, fail_with(o, "malloc", 0);
      n = pread(in, *buf, want < BUF_BYTES ? want : BUF_BYTES, off);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return fail_with(o, "read", 0);
      for (ssize_t w = 0; w < n;) {
        ssize_t m = pwrite(out, *buf + w, (size_t)(n - w), off + w);
        if (m < 0 && errno == EINTR) continue;
        if (m < 0) return fail_with(o, "write", 1);
        w += m;
      }
    }
    if (n == 0) break; // the source shrank: the caller's second look at it says so
    off += n;
  }
  return 0;
}

static int copy_sparse_fds(int in, int out, off_t size, outcome_t *o) {
  // A reflink where the file system offers one (btrfs, XFS): holes and all, as copyFileSync's
  // COPYFILE_FICLONE does for files that are not sparse.
  if (ioctl(out, FICLONE, in) == 0) return 0;
  char *buf = NULL;
  int rc = 0;
  for (off_t off = 0; off < size && rc == 0;) {
    off_t data = lseek(in, off, SEEK_DATA);
    if (data < 0 && errno == ENXIO) break; // only a hole from here on
    off_t hole = data < 0 ? size : lseek(in, data, SEEK_HOLE);
    if (data < 0) data = off; // no SEEK_DATA here: all of it is data
    if (hole < 0 || hole > size) hole = size;
    rc = copy_range(in, out, data, hole, &buf, o);
    off = hole;
  }
  free(buf);
  if (rc == 0 && ftruncate(out, size) != 0) rc = fail_with(o, "ftruncate", 1);
  return rc;
}

// copySparse(src, dst): copies `src` into `dst`, a new file (mode 0600) it creates. Returns 0,
// or [errno, call, 0 when the source's path is the one that failed, 1 for dst]. dst is left
// behind on failure, as copyFileSync leaves it: the caller removes its temporary file.
static napi_value copy_sparse(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], out;
  char src[4096 + 1], dst[4096 + 1];
  size_t src_len, dst_len;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 ||
      napi_get_value_string_utf8(env, argv[0], src, sizeof src, &src_len) != napi_ok ||
      napi_get_value_string_utf8(env, argv[1], dst, sizeof dst, &dst_len) != napi_ok)
    return fail(env, "copySparse: two paths expected");
  outcome_t o = {0, NULL, 0};
  // A path cut to fit the buffer would name another file: past PATH_MAX, as open() says it.
  int in = -1;
  if (src_len >= sizeof src - 1 || dst_len >= sizeof dst - 1) {
    errno = ENAMETOOLONG;
    fail_with(&o, "open", src_len >= sizeof src - 1 ? 0 : 1);
  } else if ((in = open(src, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)) < 0)
    fail_with(&o, "open", 0);
  else {
    struct stat st;
    int fd = -1;
    if (fstat(in, &st) != 0) fail_with(&o, "fstat", 0);
    else if ((fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0)
      fail_with(&o, "open", 1);
    else {
      copy_sparse_fds(in, fd, st.st_size, &o);
      if (close(fd) != 0 && o.call == NULL) fail_with(&o, "close", 1);
    }
    close(in);
  }
  if (o.call == NULL) return napi_create_int32(env, 0, &out) == napi_ok ? out : NULL;
  napi_value err, call, at;
  if (napi_create_array_with_length(env, 3, &out) != napi_ok ||
      napi_create_int32(env, o.err, &err) != napi_ok ||
      napi_create_string_utf8(env, o.call, NAPI_AUTO_LENGTH, &call) != napi_ok ||
      napi_create_int32(env, o.at, &at) != napi_ok || napi_set_element(env, out, 0, err) != napi_ok ||
      napi_set_element(env, out, 1, call) != napi_ok || napi_set_element(env, out, 2, at) != napi_ok)
    return NULL;
  return out;
}

int concord_sparse_init(napi_env env, napi_value exports) {
  napi_value fn;
  return napi_create_function(env, "copySparse", NAPI_AUTO_LENGTH, copy_sparse, NULL, &fn) ==
             napi_ok &&
         napi_set_named_property(env, exports, "copySparse", fn) == napi_ok;
}
