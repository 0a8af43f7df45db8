#ifndef CONCORD_COPY_SMALL_H
#define CONCORD_COPY_SMALL_H
#include <node_api.h>

// Adds copyAsync to the addon's exports; 0 when it could not.
int concord_copy_init(napi_env env, napi_value exports);

#endif
