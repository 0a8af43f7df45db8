#ifndef CONCORD_MALLOC_PAD_H
#define CONCORD_MALLOC_PAD_H

#include <node_api.h>

// Adds mallocTopPad() to the addon's exports; 0 when it could not.
int concord_malloc_pad_init(napi_env env, napi_value exports);

#endif
