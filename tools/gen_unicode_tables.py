#!/usr/bin/env python3
"""Generate src/core/unicode_tables.c and src/core/unicode_tables.h.

The tables drive step 2 of catz_normalize() (see the "Normalization" section
of src/core/catz_core.h).  Every code point except the surrogates falls in
one class:

    separator   general category P*, S*, Z* or C* other than Cf (unassigned
                included): splits words
    mark        Mn, Mc, Me, and the invisible format characters Cf (zero
                width space and joiners, soft hyphen, bidi marks, BOM):
                dropped without splitting a word
    word        a letter or number (L*, N*) whose mapping is itself
    mapped      a letter or number with a different mapping
    apostrophe  U+0027, U+2019, U+FF07: dropped between two word
                characters, otherwise a separator

The mapping of a letter or number is: NFKD, combining marks (M*) removed,
full case folding (str.casefold()), repeated until nothing changes; any
character of the result that is not a letter or number becomes an ASCII
space (a separator).  The script checks that every character of every
mapping is itself of class "word", which is what makes catz_normalize()
idempotent.

Encoding: a two-stage table (the code point's high bits pick a 128-entry
block, blocks deduplicated) of 16-bit values; mapped values index a list of
(offset, length) pairs into one byte pool of UTF-8.  Hangul syllables are
decomposed arithmetically instead of being stored (11,172 distinct mappings
would triple the pool); the script checks the arithmetic against NFKD.  A
256-entry table, catz_ascii_fold, serves the ASCII fast path.

The maximum expansion (mapping bytes per input byte) is computed here and
exported as CATZ_UNICODE_MAX_EXPANSION; catz_normalize_bound() relies on it.

Usage: tools/gen_unicode_tables.py [OUTDIR]   (default: src/core next to
this script).  Needs only the Python 3 standard library; the Unicode version
is that of the running Python's unicodedata module, recorded in the output.
"""

import os
import sys
import unicodedata

MAX_CP = 0x10FFFF
SHIFT = 7                       # block size 128: the smallest total size
BLOCK = 1 << SHIFT

# Values stored in the second stage; values >= V_FIRST_MAP are mappings.
V_SEPARATOR = 0
V_MARK = 1
V_WORD = 2
V_APOSTROPHE = 3
V_HANGUL = 4
V_FIRST_MAP = 5

APOSTROPHES = (0x0027, 0x2019, 0xFF07)

# Hangul syllable decomposition constants (Unicode chapter 3.12)
S_BASE, L_BASE, V_BASE, T_BASE = 0xAC00, 0x1100, 0x1161, 0x11A7
L_COUNT, V_COUNT, T_COUNT = 19, 21, 28
N_COUNT = V_COUNT * T_COUNT
S_COUNT = L_COUNT * N_COUNT


def is_word_char(ch):
    """Letters and numbers are word characters."""
    return unicodedata.category(ch)[0] in 'LN'


def fold_once(text):
    """NFKD, drop combining marks, full case folding."""
    text = unicodedata.normalize('NFKD', text)
    text = ''.join(c for c in text if unicodedata.category(c)[0] != 'M')
    return text.casefold()


def mapping_of(ch):
    """The mapping of a letter or number, non-word characters as spaces."""
    text = ch
    for _ in range(8):
        folded = fold_once(text)
        if folded == text:
            break
        text = folded
    else:
        raise SystemExit('no fixpoint for U+%04X' % ord(ch))
    return ''.join(c if is_word_char(c) else ' ' for c in text)


def hangul_mapping(cp):
    """Arithmetic decomposition of a Hangul syllable into jamo."""
    s = cp - S_BASE
    out = chr(L_BASE + s // N_COUNT) + chr(V_BASE + (s % N_COUNT) // T_COUNT)
    if s % T_COUNT:
        out += chr(T_BASE + s % T_COUNT)
    return out


def classify():
    """Return (values per code point, mapping strings, statistics)."""
    values = [V_SEPARATOR] * (MAX_CP + 1)
    maps = {}
    stats = {'max_map': 0, 'expansion': (1, 1), 'worst': 0}

    def note_expansion(cp, mapped):
        nbytes = len(mapped.encode('utf-8'))
        inbytes = len(chr(cp).encode('utf-8'))
        stats['max_map'] = max(stats['max_map'], nbytes)
        num, den = stats['expansion']
        if nbytes * den > num * inbytes:
            stats['expansion'] = (nbytes, inbytes)
            stats['worst'] = cp

    for cp in range(MAX_CP + 1):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        ch = chr(cp)
        cat = unicodedata.category(ch)
        if cp in APOSTROPHES:
            assert not is_word_char(ch)
            values[cp] = V_APOSTROPHE
        elif cat[0] == 'M' or cat == 'Cf':
            values[cp] = V_MARK
        elif cat[0] in 'LN':
            mapped = mapping_of(ch)
            if mapped == ch:
                values[cp] = V_WORD
            elif mapped == '':
                values[cp] = V_MARK
            elif mapped.strip(' ') == '':
                values[cp] = V_SEPARATOR
            elif S_BASE <= cp < S_BASE + S_COUNT:
                assert mapped == hangul_mapping(cp), hex(cp)
                values[cp] = V_HANGUL
                note_expansion(cp, mapped)
            else:
                if mapped not in maps:
                    maps[mapped] = len(maps)
                values[cp] = V_FIRST_MAP + maps[mapped]
                note_expansion(cp, mapped)

    # Every character a mapping produces must map to itself.
    produced = set(''.join(maps)) | set(''.join(
        hangul_mapping(S_BASE + s) for s in range(S_COUNT)))
    for ch in produced - {' '}:
        if values[ord(ch)] != V_WORD:
            raise SystemExit('mapping produces U+%04X, not a word character'
                             % ord(ch))
    assert len(maps) + V_FIRST_MAP <= 0xFFFF
    return values, list(maps), stats


def build_stages(values):
    """Two-stage table: stage1[cp >> SHIFT] is a block of stage2."""
    limit = max(cp for cp, v in enumerate(values) if v != V_SEPARATOR) + 1
    limit = (limit + BLOCK - 1) // BLOCK * BLOCK
    blocks = {}
    stage1 = []
    for start in range(0, limit, BLOCK):
        block = tuple(values[start:start + BLOCK])
        if block not in blocks:
            blocks[block] = len(blocks)
        stage1.append(blocks[block])
    stage2 = [v for block in blocks for v in block]
    return limit, stage1, stage2


def c_array(items):
    """Format numbers (or tuples) as the body of a C initializer."""
    lines = []
    line = ''
    for n in items:
        item = ('{%d, %d},' % n) if isinstance(n, tuple) else ('%d,' % n)
        if line and len(line) + 1 + len(item) > 72:
            lines.append('\t' + line)
            line = ''
        line = line + ' ' + item if line else item
    if line:
        lines.append('\t' + line)
    return '\n'.join(lines).rstrip(',')


def ascii_fold_table(values, maps):
    """Folded byte of each ASCII letter or digit; 0 for any other byte."""
    table = [0] * 256
    for b in range(128):
        if values[b] == V_WORD:
            table[b] = b
        elif values[b] >= V_FIRST_MAP:
            mapped = maps[values[b] - V_FIRST_MAP]
            assert len(mapped) == 1 and ord(mapped) < 128
            table[b] = ord(mapped)
    return table


def write_header(path, version, stats, limit):
    """Write unicode_tables.h."""
    num, den = stats['expansion']
    factor = -(-num // den)
    text = f'''/*-------------------------------------------------------------------------
 *
 * unicode_tables.h
 *	  Character classes and mappings for catz_normalize().
 *
 * GENERATED by tools/gen_unicode_tables.py from the Unicode Character
 * Database {version} (Python unicodedata).  Do not edit; rerun the script.
 *
 * Classes: letters and numbers are word characters; a word character either
 * maps to itself (CATZ_UC_WORD) or to a mapping (CATZ_UC_MAPPED): NFKD,
 * combining marks removed, full case folding, with any non-word character
 * of the result turned into an ASCII space.  Every character of a mapping is
 * of class CATZ_UC_WORD, so normalizing twice changes nothing.
 *
 * Expansion bound: a mapping is at most CATZ_UNICODE_MAX_EXPANSION times as
 * long (in UTF-8 bytes) as the code point it replaces (the worst case is
 * U+{stats['worst']:04X}, {den} bytes giving {num}); a separator or an invalid byte yields at most
 * one space, a mark or apostrophe nothing.  Normalization only drops and
 * merges from there, so its output is at most CATZ_UNICODE_MAX_EXPANSION
 * times the input length.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CATZ_UNICODE_TABLES_H
#define CATZ_UNICODE_TABLES_H

#include <stdint.h>

#define CATZ_UNICODE_VERSION "{version}"

/* Character classes returned by catz_unicode_class() */
#define CATZ_UC_SEPARATOR	0	/* P*, S*, Z*, C*, unassigned: splits words */
#define CATZ_UC_MARK		1	/* Mn, Mc, Me, Cf: dropped, word not split */
#define CATZ_UC_WORD		2	/* letter or number that maps to itself */
#define CATZ_UC_APOSTROPHE	3	/* U+0027, U+2019, U+FF07 */
#define CATZ_UC_MAPPED		4	/* letter or number with a mapping */

/* Longest mapping, in bytes */
#define CATZ_UNICODE_MAX_MAP_BYTES	{stats['max_map']}

/* Max bytes of mapping per byte of input, rounded up ({num}/{den}) */
#define CATZ_UNICODE_MAX_EXPANSION	{factor}

/* Room a caller provides for mappings built on the fly (Hangul) */
#define CATZ_UNICODE_SCRATCH_BYTES	12

/* Code points from here up are all separators */
#define CATZ_UNICODE_TABLE_LIMIT	0x{limit:X}

/*
 * ASCII fast path: for a byte b, catz_ascii_fold[b] is the mapping of an
 * ASCII letter or digit (itself or lower case), 0 for anything else (the
 * apostrophe included, and every byte >= 0x80).
 */
extern const uint8_t catz_ascii_fold[256];

/*
 * Class of code point cp (surrogates and values above U+10FFFF are
 * separators).  For CATZ_UC_MAPPED, *map and *maplen receive the mapping,
 * which may point into scratch (CATZ_UNICODE_SCRATCH_BYTES bytes).
 */
extern uint8_t catz_unicode_class(uint32_t cp, char *scratch,
								  const char **map, uint32_t *maplen);

#endif							/* CATZ_UNICODE_TABLES_H */
'''
    with open(path, 'w', encoding='utf-8') as f:
        f.write(text)


def write_source(path, version, limit, stage1, stage2, maps, ascii_fold):
    """Write unicode_tables.c."""
    pool = bytearray()
    entries = []
    offsets = {}
    for m in maps:
        b = m.encode('utf-8')
        if b not in offsets:
            at = pool.find(b)
            if at < 0:
                at = len(pool)
                pool += b
            offsets[b] = at
        entries.append((offsets[b], len(b)))
    assert len(pool) <= 0xFFFF and max(n for _, n in entries) <= 0xFF
    stage1_type = 'uint8_t' if max(stage1) <= 0xFF else 'uint16_t'
    nblocks = len(stage2) // BLOCK

    text = f'''/*-------------------------------------------------------------------------
 *
 * unicode_tables.c
 *	  Character classes and mappings for catz_normalize().
 *
 * GENERATED by tools/gen_unicode_tables.py from the Unicode Character
 * Database {version} (Python unicodedata).  Do not edit; rerun the script.
 *
 * Layout: catz_uc_stage1[cp >> {SHIFT}] selects one of {nblocks} deduplicated
 * blocks of {BLOCK} values in catz_uc_stage2.  A value below {V_HANGUL} is a
 * class (separator, mark, word, apostrophe); {V_HANGUL} is a Hangul syllable,
 * decomposed arithmetically; {V_FIRST_MAP} + k is mapping k, whose bytes are
 * catz_uc_pool[off .. off + len) for catz_uc_maps[k] = {{off, len}}.
 *
 *-------------------------------------------------------------------------
 */
#include "unicode_tables.h"

#define UC_SHIFT		{SHIFT}
#define UC_MASK			{BLOCK - 1}
#define UC_HANGUL		{V_HANGUL}
#define UC_FIRST_MAP	{V_FIRST_MAP}

/* Hangul syllable decomposition (Unicode chapter 3.12) */
#define HANGUL_S_BASE	0x{S_BASE:X}
#define HANGUL_L_BASE	0x{L_BASE:X}
#define HANGUL_V_BASE	0x{V_BASE:X}
#define HANGUL_T_BASE	0x{T_BASE:X}
#define HANGUL_T_COUNT	{T_COUNT}
#define HANGUL_N_COUNT	{N_COUNT}

/* A mapping: a slice of catz_uc_pool */
typedef struct CatzUcMap
{{
	uint16_t	off;			/* offset in catz_uc_pool, in bytes */
	uint8_t		len;			/* length, in bytes */
}} CatzUcMap;

static const {stage1_type} catz_uc_stage1[{len(stage1)}] = {{
{c_array(stage1)}
}};

static const uint16_t catz_uc_stage2[{len(stage2)}] = {{
{c_array(stage2)}
}};

static const CatzUcMap catz_uc_maps[{len(entries)}] = {{
{c_array(entries)}
}};

static const uint8_t catz_uc_pool[{len(pool)}] = {{
{c_array(list(pool))}
}};

const uint8_t catz_ascii_fold[256] = {{
{c_array(ascii_fold)}
}};

/* Append the 3-byte UTF-8 encoding of a jamo (U+1100..U+11FF) */
static char *
put_jamo(char *p, uint32_t cp)
{{
	p[0] = (char) (0xE0 | (cp >> 12));
	p[1] = (char) (0x80 | ((cp >> 6) & 0x3F));
	p[2] = (char) (0x80 | (cp & 0x3F));
	return p + 3;
}}

/* Look up the class (and mapping) of a code point */
uint8_t
catz_unicode_class(uint32_t cp, char *scratch, const char **map,
				   uint32_t *maplen)
{{
	uint16_t	v;

	if (cp >= CATZ_UNICODE_TABLE_LIMIT)
		return CATZ_UC_SEPARATOR;
	v = catz_uc_stage2[((uint32_t) catz_uc_stage1[cp >> UC_SHIFT] << UC_SHIFT) |
					   (cp & UC_MASK)];
	if (v < UC_HANGUL)
		return (uint8_t) v;		/* the value is the CATZ_UC_* class */
	if (v == UC_HANGUL)
	{{
		uint32_t	s = cp - HANGUL_S_BASE;
		char	   *p = scratch;

		p = put_jamo(p, HANGUL_L_BASE + s / HANGUL_N_COUNT);
		p = put_jamo(p, HANGUL_V_BASE + (s % HANGUL_N_COUNT) / HANGUL_T_COUNT);
		if (s % HANGUL_T_COUNT != 0)
			p = put_jamo(p, HANGUL_T_BASE + s % HANGUL_T_COUNT);
		*map = scratch;
		*maplen = (uint32_t) (p - scratch);
		return CATZ_UC_MAPPED;
	}}
	*map = (const char *) catz_uc_pool + catz_uc_maps[v - UC_FIRST_MAP].off;
	*maplen = catz_uc_maps[v - UC_FIRST_MAP].len;
	return CATZ_UC_MAPPED;
}}
'''
    with open(path, 'w', encoding='utf-8') as f:
        f.write(text)


def main():
    """Generate both files."""
    here = os.path.dirname(os.path.abspath(__file__))
    outdir = sys.argv[1] if len(sys.argv) > 1 else \
        os.path.join(here, '..', 'src', 'core')
    version = unicodedata.unidata_version
    assert (V_SEPARATOR, V_MARK, V_WORD, V_APOSTROPHE) == (0, 1, 2, 3)
    values, maps, stats = classify()
    limit, stage1, stage2 = build_stages(values)
    write_header(os.path.join(outdir, 'unicode_tables.h'), version, stats,
                 limit)
    write_source(os.path.join(outdir, 'unicode_tables.c'), version, limit,
                 stage1, stage2, maps, ascii_fold_table(values, maps))
    num, den = stats['expansion']
    print('Unicode %s: %d blocks, %d mappings, max expansion %d/%d'
          % (version, len(stage2) // BLOCK, len(maps), num, den))


if __name__ == '__main__':
    main()
