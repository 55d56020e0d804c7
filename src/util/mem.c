/*
 * mem.c — the memory reserve and the "memory ran out" flag (see mem.h).
 *
 * The reserve is a few chunks of untouched memory: they cost address space and commit charge,
 * not resident memory, which is what a limit (RLIMIT_AS, strict overcommit) counts when malloc
 * fails.  Releasing one gives that room back to the allocator.  The faults "alloc" and
 * "alloc_hard" (util/fault.h) make an allocation fail as if memory had run out, for the tests.
 */
#include "util/mem.h"

#include <pthread.h>
#include <stdlib.h>

#include "util/fault.h"

#define RESERVE_CHUNKS 4
#define RESERVE_CHUNK_BYTES (2u << 20)

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static void *reserve[RESERVE_CHUNKS];
static int ran_out; /* atomic: read without the lock by every check */

void
mem_begin(void)
{
	pthread_mutex_lock(&lock);
	for (int i = 0; i < RESERVE_CHUNKS; i++)
		if (!reserve[i])
			reserve[i] = malloc(RESERVE_CHUNK_BYTES);
	__atomic_store_n(&ran_out, 0, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&lock);
}

bool
mem_short(void)
{
	return __atomic_load_n(&ran_out, __ATOMIC_SEQ_CST) != 0;
}

/* An allocation failed: remember it, give one chunk of the reserve back; false when none is left. */
static bool
release_reserve(void)
{
	bool released = false;
	pthread_mutex_lock(&lock);
	__atomic_store_n(&ran_out, 1, __ATOMIC_SEQ_CST);
	for (int i = 0; i < RESERVE_CHUNKS && !released; i++)
		if (reserve[i]) {
			free(reserve[i]);
			reserve[i] = NULL;
			released = true;
		}
	pthread_mutex_unlock(&lock);
	return released;
}

/*
 * The faults of the tests: "alloc" fails the first attempt (the retry after releasing the
 * reserve succeeds, as it would), "alloc_hard" every attempt of the call (the reserve is spent
 * and the call fails).
 */
static bool
hard_fault(void)
{
	return fault_fail("alloc_hard");
}

#define ALLOCATE(first, retry)                                          \
	do {                                                            \
		bool hard = hard_fault();                               \
		p = hard || fault_fail("alloc") ? NULL : (first);       \
		while (!p && release_reserve())                         \
			p = hard ? NULL : (retry);                      \
		if (!p)                                                 \
			__atomic_store_n(&ran_out, 1, __ATOMIC_SEQ_CST); \
	} while (0)

void *
mem_malloc(size_t n)
{
	void *p;
	ALLOCATE(malloc(n ? n : 1), malloc(n ? n : 1));
	return p;
}

void *
mem_calloc(size_t n, size_t size)
{
	void *p;
	ALLOCATE(calloc(n ? n : 1, size ? size : 1), calloc(n ? n : 1, size ? size : 1));
	return p;
}

void *
mem_realloc(void *q, size_t n)
{
	void *p;
	ALLOCATE(realloc(q, n ? n : 1), realloc(q, n ? n : 1));
	return p;
}
