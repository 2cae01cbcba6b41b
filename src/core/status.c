/*-------------------------------------------------------------------------
 *
 * status.c
 *	  Status names and the malloc-backed allocator of the core.
 *
 * Invariants: catz_status_string() returns a static string for every
 * value, known or not; catz_malloc_allocator never returns NULL for a
 * zero-byte request on success, so callers need not special-case size 0.
 *
 *-------------------------------------------------------------------------
 */
#include "catz_core.h"

#include <stdlib.h>

/* Name a status for error messages */
const char *
catz_status_string(CatzStatus status)
{
	switch (status)
	{
		case CATZ_OK:
			return "success";
		case CATZ_ENOMEM:
			return "out of memory";
		case CATZ_EINVAL:
			return "invalid input";
		case CATZ_ETOOBIG:
			return "result too large";
		case CATZ_ECORRUPT:
			return "corrupt data";
	}
	return "unknown status";
}

/* Allocate with malloc; a zero-byte request still yields a unique pointer */
static void *
malloc_alloc(void *ctx, size_t size)
{
	(void) ctx;
	return malloc(size > 0 ? size : 1);
}

/* Release memory obtained from malloc_alloc */
static void
malloc_free(void *ctx, void *ptr)
{
	(void) ctx;
	free(ptr);
}

const CatzAllocator catz_malloc_allocator = {
	.alloc = malloc_alloc,
	.free = malloc_free,
	.ctx = NULL
};
