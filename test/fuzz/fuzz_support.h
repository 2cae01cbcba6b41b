/*-------------------------------------------------------------------------
 *
 * fuzz_support.h
 *	  What the fuzz targets share: a cursor over the input, and the
 *	  failing allocator of the unit tests (test/support/failing_alloc.h).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CATZ_FUZZ_SUPPORT_H
#define CATZ_FUZZ_SUPPORT_H

#include <stdint.h>
#include <stdlib.h>

#include "failing_alloc.h"

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

#endif							/* CATZ_FUZZ_SUPPORT_H */
