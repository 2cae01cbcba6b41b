/*-------------------------------------------------------------------------
 *
 * failing_alloc.h
 *	  An allocator for the core's CatzAllocator that fails once a budget of
 *	  allocations is spent and counts what is not freed: the unit tests and
 *	  the fuzz targets check with it that every allocation failure is
 *	  reported (CATZ_ENOMEM) and leaks nothing.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CATZ_FAILING_ALLOC_H
#define CATZ_FAILING_ALLOC_H

#include <stdlib.h>

typedef struct FailingAlloc
{
	long		remaining;		/* successes left; -1 = never fail */
	long		live;			/* allocations not yet freed */
	long		total;			/* allocations made */
} FailingAlloc;

/* Allocate unless the budget is spent */
static inline void *
failing_alloc(void *ctx, size_t size)
{
	FailingAlloc *fa = ctx;
	void	   *p;

	if (fa->remaining == 0)
		return NULL;
	if (fa->remaining > 0)
		fa->remaining--;
	p = malloc(size);
	if (p)
	{
		fa->live++;
		fa->total++;
	}
	return p;
}

/* Free and count */
static inline void
failing_free(void *ctx, void *ptr)
{
	if (ptr)
		((FailingAlloc *) ctx)->live--;
	free(ptr);
}

#endif							/* CATZ_FAILING_ALLOC_H */
