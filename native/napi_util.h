#ifndef CONCORD_NAPI_UTIL_H
#define CONCORD_NAPI_UTIL_H
// What the addon's asynchronous calls (listAsync, copyAsync, hashAsync) do the same way.
#include <node_api.h>
#include <stdbool.h>
#include <stdint.h>

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

// A typed array argument of type `want`: its data and length; 0 when `v` is not one.
static inline int typed_array(napi_env env, napi_value v, napi_typedarray_type want, void **data,
                              size_t *length) {
  bool is;
  napi_typedarray_type type;
  return napi_is_typedarray(env, v, &is) == napi_ok && is &&
         napi_get_typedarray_info(env, v, &type, length, data, NULL, NULL) == napi_ok &&
         type == want;
}

// What a batch call (copyAsync, hashAsync) holds from its start to its callback: its results
// array (a reference keeps it, and the memory written into, alive), the callback, the work.
typedef struct {
  napi_ref out, callback;
  napi_async_work work;
} batch_hold_t;

// Holds `out` and queues the work; 0 when a step failed (the caller releases what was made).
static inline int batch_queue(napi_env env, const char *name, napi_value out, napi_value callback,
                              batch_hold_t *h, napi_async_execute_callback execute,
                              napi_async_complete_callback complete, void *data) {
  return napi_create_reference(env, out, 1, &h->out) == napi_ok &&
         queue_work(env, name, callback, &h->callback, execute, complete, data, &h->work);
}

// Calls the batch's callback: with no argument, or `failed` when the work did not run.
static inline void batch_call_back(napi_env env, napi_status status, batch_hold_t *h,
                                   const char *failed) {
  napi_value arg;
  napi_get_undefined(env, &arg);
  if (status != napi_ok) napi_create_string_utf8(env, failed, NAPI_AUTO_LENGTH, &arg);
  call_back(env, h->callback, 1, &arg);
}

static inline void batch_release(napi_env env, batch_hold_t *h) {
  if (h->out) napi_delete_reference(env, h->out);
  if (h->callback) napi_delete_reference(env, h->callback);
  if (h->work) napi_delete_async_work(env, h->work);
}

// A 16-byte digest (canonical order) as four 32-bit words, most significant first: exact in
// the doubles of a batch's results.
static inline void digest_words(const uint8_t d[16], double *out) {
  for (int w = 0; w < 4; w++, d += 4)
    out[w] = (double)((uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 | d[3]);
}

#endif
