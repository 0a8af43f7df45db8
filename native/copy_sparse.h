#ifndef CONCORD_COPY_SPARSE_H
#define CONCORD_COPY_SPARSE_H

#include <node_api.h>

// Adds copySparse() to the addon's exports; 0 when it could not.
int concord_sparse_init(napi_env env, napi_value exports);

#endif
