#ifndef CONCORD_RENAME_H
#define CONCORD_RENAME_H

#include <node_api.h>

// Adds renameNoReplace() to the addon's exports; 0 when it could not.
int concord_rename_init(napi_env env, napi_value exports);

#endif
