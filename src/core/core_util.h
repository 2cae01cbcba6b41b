/*-------------------------------------------------------------------------
 *
 * core_util.h
 *	  Small helpers the core's compiled blobs share (internal to src/core):
 *	  section alignment, bit widths, ASCII case folding, the trigram
 *	  prefilter's hash and a sort of int64 values.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CATZ_CORE_UTIL_H
#define CATZ_CORE_UTIL_H

#include <stdbool.h>
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

/* ASCII lower case of c */
static inline unsigned char
catz_ascii_fold(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char) (c + ('a' - 'A')) : c;
}

/*
 * The trigram prefilter of regex literals (regex_literal.c builds the sets
 * of texts, automaton.c tests a set's literals against them): a trigram's
 * key is its three ASCII-folded bytes, high byte first, and its bit in a
 * set of 2^log2_bits bits is a multiplicative hash of the key
 */
static inline uint32_t
catz_trigram_key_bit(uint32_t key, unsigned log2_bits)
{
	return (key * 0x9E3779B1u) >> (32 - log2_bits);
}

/* Bit of the trigram at p */
static inline uint32_t
catz_trigram_bit(const char *p, unsigned log2_bits)
{
	return catz_trigram_key_bit(((uint32_t) catz_ascii_fold((unsigned char) p[0]) << 16) |
								((uint32_t) catz_ascii_fold((unsigned char) p[1]) << 8) |
								catz_ascii_fold((unsigned char) p[2]), log2_bits);
}

/* Whether bit is set in the bit set bits */
static inline bool
catz_trigram_bit_in(const uint64_t *bits, uint32_t bit)
{
	return (bits[bit / 64] & ((uint64_t) 1 << (bit % 64))) != 0;
}

/* Whether all trigrams of needle (nlen >= 3) have their bit in bits */
static inline bool
catz_trigram_bits_cover(const uint64_t *bits, unsigned log2_bits, const char *needle, size_t nlen)
{
	size_t		i;

	for (i = 0; i + 3 <= nlen; i++)
		if (!catz_trigram_bit_in(bits, catz_trigram_bit(needle + i, log2_bits)))
			return false;
	return true;
}

/* Sort n int64 values in ascending order (key_sort.c) */
extern void catz_sort_int64(int64_t *a, size_t n);

#endif							/* CATZ_CORE_UTIL_H */
