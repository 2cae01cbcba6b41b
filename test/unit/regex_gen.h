/*-------------------------------------------------------------------------
 *
 * regex_gen.h
 *	  Random regular expressions with a string each one matches, for
 *	  testing catz_regex_required_literal; shared by the unit tests and the
 *	  fuzz target.
 *
 * regex_gen() draws a small expression tree (literals, escaped
 * punctuation, '.', bracket expressions, class escapes, hex escapes,
 * groups, alternations, every quantifier form), prints it in PostgreSQL
 * ARE syntax with random letter case, and samples a string that the
 * expression matches case-insensitively (as with ~*), embedded in random
 * noise unless anchored.  The required literal must then occur in the
 * sample, ignoring case.  Randomness comes from a caller's function, so a
 * fuzzer can drive the choices with its input bytes.
 *
 * The generator's semantics were checked once against PostgreSQL 15
 * itself: every sample matches its regex with ~*.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CATZ_REGEX_GEN_H
#define CATZ_REGEX_GEN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define GEN_MAX_NODES	48
#define GEN_MAX_DEPTH	3
#define GEN_RE_CAP		512
#define GEN_SAMPLE_CAP	4096

/* Kinds of expression node */
typedef enum GenKind
{
	GEN_TEXT,					/* printed text matching one of a set of
								 * characters */
	GEN_SEQ,					/* children in sequence */
	GEN_ALT						/* children as alternatives, in a group */
} GenKind;

/* One node of the expression tree */
typedef struct GenNode
{
	GenKind		kind;
	const char *print;			/* GEN_TEXT: source text, e.g. "[a-c]" */
	const char *chars;			/* GEN_TEXT: characters it may match */
	const char *open;			/* GEN_SEQ in a group: "(" or "(?:" */
	int			first_child;	/* -1 = none */
	int			next_sibling;	/* -1 = none */
	int			min;			/* repetitions */
	int			max;			/* -1 = unbounded */
	char		quant[16];		/* printed quantifier, "" if none */
	char		letter[2];		/* storage for a one-letter print */
	char		letter_chars[3];	/* both cases of that letter */
} GenNode;

/* Generator state and output */
typedef struct RegexGen
{
	uint32_t	(*below) (void *ctx, uint32_t n);	/* random in [0, n) */
	void	   *ctx;
	GenNode		nodes[GEN_MAX_NODES];
	int			nnodes;
	char		re[GEN_RE_CAP];
	size_t		re_len;
	char		sample[GEN_SAMPLE_CAP];
	size_t		sample_len;
	bool		overflow;		/* output did not fit: discard this case */
} RegexGen;

/* Random choice in [0, n) */
static inline uint32_t
gen_below(RegexGen *g, uint32_t n)
{
	return g->below(g->ctx, n);
}

/* Append text to the regex */
static inline void
gen_print(RegexGen *g, const char *s)
{
	size_t		n = strlen(s);

	if (g->re_len + n >= GEN_RE_CAP)
	{
		g->overflow = true;
		return;
	}
	memcpy(g->re + g->re_len, s, n);
	g->re_len += n;
	g->re[g->re_len] = '\0';
}

/* Append one character to the sample */
static inline void
gen_emit(RegexGen *g, char c)
{
	if (g->sample_len + 1 >= GEN_SAMPLE_CAP)
	{
		g->overflow = true;
		return;
	}
	g->sample[g->sample_len++] = c;
}

/* Atoms: printed form and the characters each may match */
static const struct
{
	const char *print;
	const char *chars;
}			gen_atoms[] = {
	{".", "aZ3-. "},
	{"\\.", "."},
	{"\\-", "-"},
	{"\\(", "("},
	{"\\*", "*"},
	{"\\|", "|"},
	{"\\\\", "\\"},
	{"\\{", "{"},
	{"\\$", "$"},
	{"-", "-"},
	{" ", " "},
	{"@", "@"},
	{"]", "]"},
	{"}", "}"},
	{"_", "_"},
	{"[abc]", "abcABC"},
	{"[a-f]", "acfACF"},
	{"[^a-z]", "09-_ "},
	{"[[:digit:]]", "0123456789"},
	{"[]x]", "]xX"},
	{"[[.y.]]", "yY"},
	{"[\\]q]", "]qQ"},
	{"\\d", "0123456789"},
	{"\\w", "az09_"},
	{"\\s", " "},
	{"\\S", "xX7"},
	{"(?:\\x41)", "aA"},		/* grouped: \x takes every hex digit */
	{"(?:\\x4aa)", "\xaa"},		/* U+04AA, sampled in UTF-8 */
	{"\\u0062", "bB"},
	{"\\cJ", "\n"},
};

/* Set a random quantifier on node n */
static inline void
gen_quantifier(RegexGen *g, GenNode *n)
{
	static const char *lazy[] = {"", "", "?"};
	int			m = (int) gen_below(g, 3);

	switch (gen_below(g, 12))
	{
		case 0:
			n->min = 0, n->max = 1;
			strcpy(n->quant, "?");
			break;
		case 1:
			n->min = 0, n->max = -1;
			strcpy(n->quant, "*");
			break;
		case 2:
			n->min = 1, n->max = -1;
			strcpy(n->quant, "+");
			break;
		case 3:
			n->min = n->max = m;
			snprintf(n->quant, sizeof(n->quant), "{%d}", m);
			break;
		case 4:
			n->min = m, n->max = m + 1;
			snprintf(n->quant, sizeof(n->quant), "{%d,%d}", m, m + 1);
			break;
		case 5:
			n->min = m, n->max = -1;
			snprintf(n->quant, sizeof(n->quant), "{%d,}", m);
			break;
		default:
			n->min = n->max = 1;
			n->quant[0] = '\0';
			return;
	}
	strcat(n->quant, lazy[gen_below(g, 3)]);
}

/* Allocate a node; -1 when the tree is full */
static inline int
gen_node(RegexGen *g, GenKind kind)
{
	GenNode    *n;

	if (g->nnodes == GEN_MAX_NODES)
		return -1;
	n = &g->nodes[g->nnodes];
	memset(n, 0, sizeof(*n));
	n->kind = kind;
	n->first_child = n->next_sibling = -1;
	n->min = n->max = 1;
	return g->nnodes++;
}

static int	gen_seq(RegexGen *g, int depth);

/* Draw one atom (possibly a group) with a quantifier */
static inline int
gen_atom(RegexGen *g, int depth)
{
	uint32_t	what = gen_below(g, 10);
	int			id;
	GenNode    *n;

	if (what < 5 || depth >= GEN_MAX_DEPTH)
	{
		id = gen_node(g, GEN_TEXT);
		if (id < 0)
			return -1;
		n = &g->nodes[id];
		if (what < 3 || depth >= GEN_MAX_DEPTH)
		{
			/* a letter or digit, in random case */
			static const char alnum[] = "abcxyz019";
			char		c = alnum[gen_below(g, sizeof(alnum) - 1)];

			n->letter[0] = (c >= 'a' && gen_below(g, 2)) ? (char) (c - 32) : c;
			n->letter_chars[0] = c;
			n->letter_chars[1] = (c >= 'a') ? (char) (c - 32) : c;
			n->print = n->letter;
			n->chars = n->letter_chars;
		}
		else
		{
			uint32_t	k = gen_below(g, sizeof(gen_atoms) / sizeof(gen_atoms[0]));

			n->print = gen_atoms[k].print;
			n->chars = gen_atoms[k].chars;
		}
	}
	else if (what < 8)
	{
		id = gen_seq(g, depth + 1);
		if (id < 0)
			return -1;
		g->nodes[id].open = gen_below(g, 2) ? "(" : "(?:";
	}
	else
	{
		int			prev = -1;
		int			nalt = 2 + (int) gen_below(g, 2);

		id = gen_node(g, GEN_ALT);
		if (id < 0)
			return -1;
		for (int k = 0; k < nalt; k++)
		{
			int			child = gen_seq(g, depth + 1);

			if (child < 0)
				return -1;
			if (prev < 0)
				g->nodes[id].first_child = child;
			else
				g->nodes[prev].next_sibling = child;
			prev = child;
		}
		g->nodes[id].open = gen_below(g, 2) ? "(" : "(?:";
	}
	gen_quantifier(g, &g->nodes[id]);
	return id;
}

/* Draw a sequence of 1..5 atoms */
static int
gen_seq(RegexGen *g, int depth)
{
	int			id = gen_node(g, GEN_SEQ);
	int			prev = -1;
	int			len = 1 + (int) gen_below(g, 5);

	if (id < 0)
		return -1;
	for (int k = 0; k < len; k++)
	{
		int			child = gen_atom(g, depth);

		if (child < 0)
			return -1;
		if (prev < 0)
			g->nodes[id].first_child = child;
		else
			g->nodes[prev].next_sibling = child;
		prev = child;
	}
	return id;
}

/* Print node id and its subtree */
static void
gen_print_node(RegexGen *g, int id, bool top)
{
	GenNode    *n = &g->nodes[id];

	if (n->kind == GEN_TEXT)
		gen_print(g, n->print);
	else
	{
		if (n->open)
			gen_print(g, n->open);
		for (int c = n->first_child; c >= 0; c = g->nodes[c].next_sibling)
		{
			if (n->kind == GEN_ALT && c != n->first_child)
				gen_print(g, "|");
			gen_print_node(g, c, false);
		}
		if (n->open)
			gen_print(g, ")");
	}
	if (!top)
		gen_print(g, n->quant);
}

/* Append to the sample one string that node id matches */
static void
gen_sample_node(RegexGen *g, int id)
{
	GenNode    *n = &g->nodes[id];
	int			reps = n->min;

	/* a few more repetitions when allowed */
	if (n->max < 0)
		reps += (int) gen_below(g, 3);
	else if (n->max > n->min)
		reps += (int) gen_below(g, (uint32_t) (n->max - n->min + 1));

	for (int r = 0; r < reps; r++)
	{
		if (n->kind == GEN_TEXT)
		{
			/* chars may hold a NUL-free multi-byte sequence: keep it whole */
			size_t		nc = strlen(n->chars);

			if ((unsigned char) n->chars[0] >= 0x80)
			{
				gen_emit(g, (char) 0xD2);	/* U+04AA in UTF-8 */
				gen_emit(g, (char) 0xAA);
			}
			else
				gen_emit(g, n->chars[gen_below(g, (uint32_t) nc)]);
		}
		else if (n->kind == GEN_SEQ)
		{
			for (int c = n->first_child; c >= 0; c = g->nodes[c].next_sibling)
				gen_sample_node(g, c);
		}
		else
		{
			int			nalt = 0;
			int			pick;
			int			c;

			for (c = n->first_child; c >= 0; c = g->nodes[c].next_sibling)
				nalt++;
			pick = (int) gen_below(g, (uint32_t) nalt);
			for (c = n->first_child; pick > 0; pick--)
				c = g->nodes[c].next_sibling;
			gen_sample_node(g, c);
		}
	}
}

/* Append 0..3 noise characters to the sample */
static inline void
gen_noise(RegexGen *g)
{
	static const char noise[] = "aq Z9-.";

	for (uint32_t k = gen_below(g, 4); k > 0; k--)
		gen_emit(g, noise[gen_below(g, sizeof(noise) - 1)]);
}

/*
 * Draw a regex and a sample it matches (case-insensitively) into g->re and
 * g->sample.  Returns false if the case did not fit and must be skipped.
 */
static inline bool
regex_gen(RegexGen *g)
{
	static const char *prefixes[] = {"", "", "", "(?i)", "***:", "***:(?ci)", "(?in)"};
	bool		anchor_start = false;
	bool		anchor_end = false;
	int			root;

	g->nnodes = 0;
	g->re_len = 0;
	g->re[0] = '\0';
	g->sample_len = 0;
	g->overflow = false;

	/* Sometimes a literal string (***= director) */
	if (gen_below(g, 16) == 0)
	{
		static const char lit[] = "ab.C*1(x";
		size_t		n = gen_below(g, sizeof(lit));

		gen_print(g, "***=");
		gen_noise(g);
		for (size_t k = 0; k < n; k++)
		{
			char		c[2] = {lit[k], '\0'};

			gen_print(g, c);
			gen_emit(g, (lit[k] >= 'a' && lit[k] <= 'z' && gen_below(g, 2)) ?
					 (char) (lit[k] - 32) : lit[k]);
		}
		gen_noise(g);
		return !g->overflow;
	}

	gen_print(g, prefixes[gen_below(g, sizeof(prefixes) / sizeof(prefixes[0]))]);
	if (gen_below(g, 6) == 0)
	{
		gen_print(g, "^");
		anchor_start = true;
	}
	else
		gen_noise(g);

	/* The top level: a sequence, or a bare alternation */
	if (gen_below(g, 8) == 0)
	{
		root = gen_node(g, GEN_ALT);
		if (root >= 0)
		{
			int			a = gen_seq(g, 1);
			int			b = gen_seq(g, 1);

			if (a < 0 || b < 0)
				return false;
			g->nodes[root].first_child = a;
			g->nodes[a].next_sibling = b;
		}
	}
	else
		root = gen_seq(g, 0);
	if (root < 0)
		return false;

	gen_print_node(g, root, true);
	gen_sample_node(g, root);
	if (gen_below(g, 6) == 0)
	{
		gen_print(g, "$");
		anchor_end = true;
	}
	if (!anchor_end)
		gen_noise(g);
	(void) anchor_start;
	return !g->overflow;
}

#endif							/* CATZ_REGEX_GEN_H */
