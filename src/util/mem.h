/*
 * mem.h — running out of memory is an error, not an abort.
 *
 * libpq's idea ("broken" buffers, util/buf.h) for strings, and for every other allocation a
 * reserve: a few MB allocated while memory is plentiful and released when an allocation fails,
 * so that the allocation is retried and succeeds.  Memory having run out is then remembered:
 * a run stops at its next check (where it checks for a cancel request, util/interrupt.h) and
 * unwinds as from a cancel (COPYs cancelled, nothing half-written committed), reporting
 * PG2MD_ERR_NOMEM; the public interface returns PG2MD_NOMEM.  The allocations pg2md makes
 * itself are small (names, arrays of tables and columns) next to the reserve; DuckDB, libpq
 * and jansson report their own failures.
 *
 * The state is the process's: memory that runs out stops every run of the process.
 */
#ifndef PG2MD_MEM_H
#define PG2MD_MEM_H

#include <stdbool.h>
#include <stddef.h>

/* At the start of a call of the interface: refill the reserve, forget an earlier shortage. */
void mem_begin(void);

/* Has memory run out since the last mem_begin? */
bool mem_short(void);

/*
 * malloc, calloc and realloc that release the reserve and retry when memory runs out (and
 * remember that it did).  NULL when even that fails: the caller reports PG2MD_ERR_NOMEM.
 * mem_realloc leaves p as it was when it fails.
 */
void *mem_malloc(size_t n);
void *mem_calloc(size_t n, size_t size);
void *mem_realloc(void *p, size_t n);

#endif
