// utimensat(2) for the times of directories and symlinks (src/endpoint/local/local.ts): Node's
// utimes takes seconds as a double, which keeps ~0.24 us near 2026 and ~2 us near 2400, so a
// directory stamped 2400 came out off by a microsecond or two and was "changed" on every run.
// This sets the mtime to the nanosecond, the atime to now.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/stat.h>

#include "napi_util.h"
#include "set_times.h"

// setTimes(absPath, seconds, nanoseconds, followSymlinks): 0, or the errno. Seconds as a
// BigInt (a time past 2262 does not fit a count of nanoseconds), nanoseconds 0 to 999999999.
static napi_value set_times(napi_env env, napi_callback_info info) {
  size_t argc = 4, len;
  napi_value argv[4], out;
  char path[4096];
  int64_t sec;
  int32_t nsec;
  bool lossless, follow;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 4 ||
      napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len) != napi_ok ||
      len >= sizeof path - 1 ||
      napi_get_value_bigint_int64(env, argv[1], &sec, &lossless) != napi_ok || !lossless ||
      napi_get_value_int32(env, argv[2], &nsec) != napi_ok || nsec < 0 || nsec > 999999999 ||
      napi_get_value_bool(env, argv[3], &follow) != napi_ok)
    return fail(env, "setTimes(absPath, seconds (BigInt), nanoseconds, followSymlinks)");
  struct timespec times[2] = {{0, UTIME_NOW}, {(time_t)sec, nsec}};
  int rc = utimensat(AT_FDCWD, path, times, follow ? 0 : AT_SYMLINK_NOFOLLOW) == 0 ? 0 : errno;
  return napi_create_int32(env, rc, &out) == napi_ok ? out : NULL;
}

int concord_set_times_init(napi_env env, napi_value exports) {
  napi_value fn;
  return napi_create_function(env, "setTimes", NAPI_AUTO_LENGTH, set_times, NULL, &fn) ==
             napi_ok &&
         napi_set_named_property(env, exports, "setTimes", fn) == napi_ok;
}
