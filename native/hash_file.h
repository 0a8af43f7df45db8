#ifndef CONCORD_HASH_FILE_H
#define CONCORD_HASH_FILE_H

#include <node_api.h>
#include <stddef.h>
#include <stdint.h>

// XXH3-128 of `n` bytes, in xxHash's canonical byte order (big-endian: what hash-wasm's hex
// digest spells).
void concord_xxh3_128(const void *buf, size_t n, uint8_t out[16]);

// Adds hashFile(), hashAsync() and hashBytes() to the addon's exports; 0 when it could not.
int concord_hash_init(napi_env env, napi_value exports);

#endif
