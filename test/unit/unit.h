/*-------------------------------------------------------------------------
 *
 * unit.h
 *	  A minimal assertion harness for the server-free tests of src/core.
 *
 * Each test program defines test functions, registers them in main() with
 * UNIT_RUN(fn) and ends with UNIT_DONE(), which prints
 * "<program>: N passed, M failed" and exits non-zero on any failure.  A
 * test counts as failed if any CHECK in it fails; every failed CHECK prints
 * its file, line and expression.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CATZ_UNIT_H
#define CATZ_UNIT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int	unit_passed;
static int	unit_failed;
static int	unit_current_failed;

#define CHECK(expr) \
	do { \
		if (!(expr)) \
		{ \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #expr); \
			unit_current_failed = 1; \
		} \
	} while (0)

/* Compare a (ptr, len) byte string with a C string */
#define CHECK_BYTES(ptr, len, cstr) \
	do { \
		size_t	unit_l_ = (len); \
		const char *unit_e_ = (cstr); \
		if (unit_l_ != strlen(unit_e_) || memcmp((ptr), unit_e_, unit_l_) != 0) \
		{ \
			fprintf(stderr, "%s:%d: CHECK_BYTES failed: got \"%.*s\", want \"%s\"\n", \
					__FILE__, __LINE__, (int) unit_l_, (const char *) (ptr), unit_e_); \
			unit_current_failed = 1; \
		} \
	} while (0)

#define UNIT_RUN(fn) \
	do { \
		unit_current_failed = 0; \
		fn(); \
		if (unit_current_failed) \
		{ \
			unit_failed++; \
			fprintf(stderr, "FAIL %s\n", #fn); \
		} \
		else \
			unit_passed++; \
	} while (0)

#define UNIT_DONE(name) \
	do { \
		printf("%s: %d passed, %d failed\n", (name), unit_passed, unit_failed); \
		return unit_failed ? 1 : 0; \
	} while (0)

#endif							/* CATZ_UNIT_H */
