/* hash.c — FNV-1a over a NUL-terminated string (see hash.h). */
#include "util/hash.h"

uint64_t
hash_fnv1a(const char *s)
{
	uint64_t h = UINT64_C(1469598103934665603);
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= UINT64_C(1099511628211);
	}
	return h;
}
