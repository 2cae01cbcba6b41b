/*-------------------------------------------------------------------------
 *
 * core_util.h
 *	  Small helpers the core's compiled blobs share (internal to src/core):
 *	  section alignment, bit widths and a sort of int64 values.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CATZ_CORE_UTIL_H
#define CATZ_CORE_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Alignment of every section of a compiled blob, in bytes */
#define CATZ_BLOB_ALIGN		8

/* Round n up to the section alignment */
static inline uint64_t
catz_align_up(uint64_t n)
{
	return (n + CATZ_BLOB_ALIGN - 1) & ~(uint64_t) (CATZ_BLOB_ALIGN - 1);
}

/* Number of bits needed to represent n: 0 for 0 */
static inline unsigned
catz_bit_width(uint64_t n)
{
	unsigned	bits = 0;

	while (n != 0)
	{
		bits++;
		n >>= 1;
	}
	return bits;
}

/* Sort n int64 values in ascending order (key_sort.c) */
extern void catz_sort_int64(int64_t *a, size_t n);

#endif							/* CATZ_CORE_UTIL_H */
