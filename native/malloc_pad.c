// mallocTopPad(bytes): glibc's M_TOP_PAD, what malloc adds to each growth of its heap, set once
// the process runs (src/cli/main.ts). Each new page of the heap costs a page fault, ~10 us on
// our VM; growing by 2 MiB at least takes fewer of them. The same as the tunable
// glibc.malloc.top_pad, which bin/concord.js's shebang line has no room for (Linux before 5.1
// reads 127 bytes of it).
#include <malloc.h>

#include "malloc_pad.h"
#include "napi_util.h"

static napi_value malloc_top_pad(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  int32_t bytes;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_int32(env, argv[0], &bytes) != napi_ok || bytes < 0)
    return fail(env, "mallocTopPad: a number of bytes expected");
  return napi_get_boolean(env, mallopt(M_TOP_PAD, bytes) == 1, &out) == napi_ok ? out : NULL;
}

int concord_malloc_pad_init(napi_env env, napi_value exports) {
  napi_value fn;
  return napi_create_function(env, "mallocTopPad", NAPI_AUTO_LENGTH, malloc_top_pad, NULL,
                              &fn) == napi_ok &&
         napi_set_named_property(env, exports, "mallocTopPad", fn) == napi_ok;
}
