// renameat2(2) with RENAME_NOREPLACE, for src/endpoint/local/local.ts's moves: Node has no call
// that renames without replacing. Its stand-in, link then unlink, left both names behind when
// the process was killed between the two, and the next two-way run took the second name for a
// new file: a conflict copy made twice (test/e2e/crash-inject.test.ts).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h> // renameat2, RENAME_NOREPLACE (glibc 2.28)

#include "napi_util.h"
#include "rename.h"

// renameNoReplace(fromAbsPath, toAbsPath): 0, or the errno (EEXIST: something is at `to`;
// EINVAL, ENOSYS or EOPNOTSUPP: the file system cannot).
static napi_value rename_no_replace(napi_env env, napi_callback_info info) {
  size_t argc = 2, len;
  napi_value argv[2], out;
  char from[4096], to[4096];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2 ||
      napi_get_value_string_utf8(env, argv[0], from, sizeof from, &len) != napi_ok ||
      len >= sizeof from - 1 ||
      napi_get_value_string_utf8(env, argv[1], to, sizeof to, &len) != napi_ok ||
      len >= sizeof to - 1)
    return fail(env, "renameNoReplace(fromAbsPath, toAbsPath)");
  int rc = renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0 ? 0 : errno;
  return napi_create_int32(env, rc, &out) == napi_ok ? out : NULL;
}

int concord_rename_init(napi_env env, napi_value exports) {
  napi_value fn;
  return napi_create_function(env, "renameNoReplace", NAPI_AUTO_LENGTH, rename_no_replace, NULL,
                              &fn) == napi_ok &&
         napi_set_named_property(env, exports, "renameNoReplace", fn) == napi_ok;
}
