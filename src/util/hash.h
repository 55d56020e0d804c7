/*
 * hash.h — FNV-1a, 64 bits: the version_hash pg2md stores for a schema in
 * _dlt_version and _dlt_loads (a fingerprint, not a security measure).
 */
#ifndef PG2MD_HASH_H
#define PG2MD_HASH_H

#include <stdint.h>

uint64_t hash_fnv1a(const char *s);

#endif
