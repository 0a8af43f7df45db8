#ifndef CONCORD_NAPI_UTIL_H
#define CONCORD_NAPI_UTIL_H
// What both of the addon's asynchronous calls (listAsync, copyAsync) do the same way.
#include <node_api.h>
#include <stdbool.h>

// Throws `what` unless an N-API call already left an exception pending; the caller returns it.
static inline napi_value fail(napi_env env, const char *what) {
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) napi_throw_error(env, NULL, what);
  return NULL;
}

// Holds `callback` in *ref and queues execute (on libuv's pool) then complete (on the main
// thread) with `data`. 0 when any step failed: the caller frees what it made, *ref included.
static inline int queue_work(napi_env env, const char *name, napi_value callback, napi_ref *ref,
                             napi_async_execute_callback execute,
                             napi_async_complete_callback complete, void *data,
                             napi_async_work *work) {
  napi_value resource;
  return napi_create_reference(env, callback, 1, ref) == napi_ok &&
         napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource) == napi_ok &&
         napi_create_async_work(env, NULL, resource, execute, complete, data, work) == napi_ok &&
         napi_queue_async_work(env, *work) == napi_ok;
}

// Calls the JavaScript function held by `ref` with `argc` arguments (from complete()).
static inline void call_back(napi_env env, napi_ref ref, size_t argc, napi_value *argv) {
  napi_value callback, global, ignored;
  if (napi_get_reference_value(env, ref, &callback) != napi_ok) return;
  napi_get_global(env, &global);
  napi_call_function(env, global, callback, argc, argv, &ignored);
}

#endif
