// flock(2) for the run locks on roots (src/index/root-lock.ts): Node has no call for it. The
// kernel drops the lock when the process dies, so a killed run leaves nothing stale behind.
#include <errno.h>
#include <stdbool.h>
#include <sys/file.h>

#include "flock.h"
#include "napi_util.h"

// flockNb(fd, shared): 0 when this open file now holds the lock (exclusive, or shared when
// `shared` is true), else the errno (EWOULDBLOCK: another open file holds a conflicting one).
static napi_value flock_nb(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], out;
  int32_t fd;
  bool shared = false;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_int32(env, argv[0], &fd) != napi_ok ||
      (argc > 1 && napi_get_value_bool(env, argv[1], &shared) != napi_ok))
    return fail(env, "flockNb: a file descriptor and a boolean expected");
  int rc = flock(fd, (shared ? LOCK_SH : LOCK_EX) | LOCK_NB) == 0 ? 0 : errno;
  return napi_create_int32(env, rc, &out) == napi_ok ? out : NULL;
}

int concord_flock_init(napi_env env, napi_value exports) {
  napi_value fn;
  return napi_create_function(env, "flockNb", NAPI_AUTO_LENGTH, flock_nb, NULL, &fn) ==
             napi_ok &&
         napi_set_named_property(env, exports, "flockNb", fn) == napi_ok;
}
