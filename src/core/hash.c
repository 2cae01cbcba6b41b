/*-------------------------------------------------------------------------
 *
 * hash.c
 *	  The 64-bit hash used by every hash table inside a core blob.
 *
 * Design: a multiply-rotate hash that consumes 8 bytes per round.  Each
 * 8-byte lane is scrambled on its own (multiply, rotate, multiply), so
 * lanes can be prepared in parallel, and folded into the state with one
 * multiply on the dependency chain.  The tail (the last 1..8 bytes) is read
 * with overlapping loads instead of a byte loop; the length is mixed into
 * the initial state, so inputs that overlap the same way still differ.  A
 * final avalanche (xor-shift-multiply, as in MurmurHash3's finalizer)
 * spreads every input bit over every output bit, so both the low bits (the
 * slot index) and the high bits (the stored tag) are usable.
 *
 * Invariants: loads go through memcpy, so any alignment is fine.  The
 * value depends only on the bytes, the length and the seed, and on the
 * byte order of the machine: a blob is portable between machines of the
 * same endianness.  Changing this function changes the layout of stored
 * blobs, so it requires a new blob format version (see automaton.c); the
 * unit tests pin known values.
 *
 *-------------------------------------------------------------------------
 */
#include "catz_core.h"

#include <string.h>

/* Odd 64-bit constants with well-mixed bits */
#define HASH_K1		UINT64_C(0x9E3779B97F4A7C15)
#define HASH_K2		UINT64_C(0xC2B2AE3D27D4EB4F)
#define HASH_K3		UINT64_C(0x165667B19E3779F9)

/* Rotate left by r (0 < r < 64) */
static inline uint64_t
rotl64(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

/* Load 8 bytes at any alignment */
static inline uint64_t
load64(const unsigned char *p)
{
	uint64_t	v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* Load 4 bytes at any alignment */
static inline uint64_t
load32(const unsigned char *p)
{
	uint32_t	v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* Scramble one 8-byte lane before it enters the state */
static inline uint64_t
scramble(uint64_t v)
{
	return rotl64(v * HASH_K2, 31) * HASH_K1;
}

/* Fold one scrambled lane into the state */
static inline uint64_t
fold(uint64_t h, uint64_t v)
{
	return rotl64(h ^ scramble(v), 27) * HASH_K1 + HASH_K3;
}

/* Spread every bit of h over the whole word */
static inline uint64_t
avalanche(uint64_t h)
{
	h ^= h >> 33;
	h *= UINT64_C(0xFF51AFD7ED558CCD);
	h ^= h >> 33;
	h *= UINT64_C(0xC4CEB9FE1A85EC53);
	h ^= h >> 33;
	return h;
}

/* Hash len bytes at data with seed */
uint64_t
catz_hash_bytes(const void *data, size_t len, uint64_t seed)
{
	const unsigned char *p = data;
	const unsigned char *end = p + len;
	uint64_t	h = (seed ^ HASH_K3) + (uint64_t) len * HASH_K1;
	uint64_t	tail;

	/* Full lanes, leaving 1..8 bytes (or none, for empty input) */
	while (end - p > 8)
	{
		h = fold(h, load64(p));
		p += 8;
	}

	if (len >= 8)
		tail = load64(end - 8);	/* overlaps the last full lane */
	else if (len >= 4)
		tail = load32(p) | (load32(end - 4) << 32);
	else if (len > 0)
		tail = (uint64_t) p[0] | ((uint64_t) p[len / 2] << 8) |
			((uint64_t) p[len - 1] << 16);
	else
		tail = 0;

	return avalanche(fold(h, tail));
}
