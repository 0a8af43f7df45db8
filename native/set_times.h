#ifndef CONCORD_SET_TIMES_H
#define CONCORD_SET_TIMES_H

#include <node_api.h>

// Adds setTimes() to the addon's exports; 0 when it could not.
int concord_set_times_init(napi_env env, napi_value exports);

#endif
