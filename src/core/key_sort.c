/*-------------------------------------------------------------------------
 *
 * key_sort.c
 *	  The sorts of plain values that several files of the core share,
 *	  generated from key_sort.h.
 *
 *-------------------------------------------------------------------------
 */
#include "core_util.h"

/* Signed order as unsigned: the sign bit flipped */
#define KEY_SORT_NAME sort_int64
#define KEY_SORT_TYPE int64_t
#define KEY_SORT_K1(r) ((uint64_t) *(r) ^ UINT64_C(0x8000000000000000))
#define KEY_SORT_K2(r) ((uint64_t) 0)
#include "key_sort.h"

void
catz_sort_int64(int64_t *a, size_t n)
{
	sort_int64(a, n);
}
