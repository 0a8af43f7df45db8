#ifndef CONCORD_FLOCK_H
#define CONCORD_FLOCK_H

#include <node_api.h>

// Adds flockNb() to the addon's exports; 0 when it could not.
int concord_flock_init(napi_env env, napi_value exports);

#endif
