/*-------------------------------------------------------------------------
 *
 * fuzz_support.h
 *	  What the fuzz targets share: a cursor over the input and an
 *	  allocator that fails after a budget and counts what is not freed.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CATZ_FUZZ_SUPPORT_H
#define CATZ_FUZZ_SUPPORT_H

#include <stdint.h>
#include <stdlib.h>

/* A cursor over the fuzz input; reads past the end give 0 */
typedef struct Input
{
	const uint8_t *data;
	size_t		size;
	size_t		pos;
} Input;

/* Next input byte, or 0 at the end */
static inline uint8_t
next_byte(Input *in)
{
	return in->pos < in->size ? in->data[in->pos++] : 0;
}

/* Allocator that fails after a budget of allocations and counts leaks */
typedef struct FuzzAlloc
{
	long		remaining;		/* -1 = never fail */
	long		live;			/* allocations not freed */
} FuzzAlloc;

/* Allocate within the budget */
static inline void *
fuzz_alloc(void *ctx, size_t size)
{
	FuzzAlloc  *fa = ctx;
	void	   *p;

	if (fa->remaining == 0)
		return NULL;
	if (fa->remaining > 0)
		fa->remaining--;
	p = malloc(size);
	if (p)
		fa->live++;
	return p;
}

/* Free and count */
static inline void
fuzz_free(void *ctx, void *ptr)
{
	if (ptr)
		((FuzzAlloc *) ctx)->live--;
	free(ptr);
}

#endif							/* CATZ_FUZZ_SUPPORT_H */
