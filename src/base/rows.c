/*-------------------------------------------------------------------------
 *
 * rows.c
 *	  Decoding rows of categorize.patterns and categorize.corrections into
 *	  the core's inputs, once for every reader (loads, refreshes,
 *	  triggers), and whether a column changed between two versions of a row.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "utils/builtins.h"
#include "utils/datum.h"

#include "base/base.h"

/* Get a column as int64; false if NULL */
bool
catz_col_int64(HeapTuple tup, TupleDesc desc, int col, int64 *out)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tup, desc, col, &isnull);

	if (isnull)
		return false;
	*out = DatumGetInt64(d);
	return true;
}

/* A text datum as a palloc'd string in the current context */
static char *
text_copy(Datum d, int *len)
{
	text	   *t = DatumGetTextPP(d);

	*len = VARSIZE_ANY_EXHDR(t);
	return pnstrdup(VARDATA_ANY(t), *len);
}

/* Get a text column as a palloc'd string in the current context, or NULL */
char *
catz_col_text(HeapTuple tup, TupleDesc desc, int col, int *len)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tup, desc, col, &isnull);

	*len = 0;
	return isnull ? NULL : text_copy(d, len);
}

/* The fields of a pattern, in the order of PATTERN_COLUMNS */
typedef enum PatternField
{
	PF_ID, PF_OWNER_ID, PF_CATEGORY_ID, PF_KIND, PF_VALUE, PF_VALUE_NORM,
	PF_AMOUNT_MIN, PF_AMOUNT_MAX, PF_PRIORITY, PF_ACTIVE, PF_SOURCE, PF_HITS,
	PF_MISSES, PF_CHANGE_XID, PF_CONFIRMED, PF_TAUGHT, PF_WEIGHT, PF_WEIGHT_AT, PF_LOG_AMOUNT,
	PF_COUNT
} PatternField;

/* The names of the table's columns, in the same order */
static const char *const pattern_field_names[PF_COUNT] = {
	"id", "owner_id", "category_id", "kind", "value", "value_norm",
	"amount_min", "amount_max", "priority", "active", "source", "hits",
	"misses", "change_xid", "confirmed", "taught", "weight", "weight_at", "log_amount"
};

/* The first field a table of an older version may lack */
#define PF_FIRST_OPTIONAL PF_TAUGHT

StaticAssertDecl(PF_COUNT == CATZ_PATTERN_NFIELDS, "CATZ_PATTERN_NFIELDS is the number of fields");

/*
 * A row's columns, deformed once: reading twenty fields one by one with
 * heap_getattr() walks the tuple from its start for each field after a NULL
 * or a text column, which made decoding the larger part of reading a
 * refresh's rows
 */
#define ROW_INLINE_COLUMNS 32
typedef struct DeformedRow
{
	int			natts;
	Datum	   *values;
	bool	   *nulls;
	Datum		values_buf[ROW_INLINE_COLUMNS];
	bool		nulls_buf[ROW_INLINE_COLUMNS];
} DeformedRow;

static void
deform_row(HeapTuple tup, TupleDesc desc, DeformedRow *r)
{
	r->natts = desc->natts;
	if (r->natts <= ROW_INLINE_COLUMNS)
	{
		r->values = r->values_buf;
		r->nulls = r->nulls_buf;
	}
	else
	{
		r->values = palloc(sizeof(Datum) * r->natts);
		r->nulls = palloc(sizeof(bool) * r->natts);
	}
	heap_deform_tuple(tup, desc, r->values, r->nulls);
}

static void
deformed_free(DeformedRow *r)
{
	if (r->values != r->values_buf)
	{
		pfree(r->values);
		pfree(r->nulls);
	}
}

/* Column col (1-based) of a deformed row; false when NULL or absent */
static bool
column(const DeformedRow *r, int col, Datum *out)
{
	*out = (Datum) 0;
	if (col <= 0 || col > r->natts || r->nulls[col - 1])
		return false;
	*out = r->values[col - 1];
	return true;
}

/* A text column, copied into the current context; NULL when NULL */
static char *
text_column(const DeformedRow *r, int col, int *len)
{
	Datum		d;

	*len = 0;
	return column(r, col, &d) ? text_copy(d, len) : NULL;
}

/* A field of a pattern's row; false when NULL or absent */
static bool
field(const DeformedRow *r, const int *attnum, PatternField f, Datum *out)
{
	return column(r, attnum[f], out);
}

/* A text field, copied into the current context; NULL when NULL */
static char *
text_field(const DeformedRow *r, const int *attnum, PatternField f, int *len)
{
	return text_column(r, attnum[f], len);
}

/* Whether a text column equals s (false when NULL); nothing is copied */
static bool
column_is(const DeformedRow *r, int col, const char *s)
{
	Datum		d;
	text	   *t;
	size_t		len = strlen(s);

	if (!column(r, col, &d))
		return false;
	t = DatumGetTextPP(d);
	return VARSIZE_ANY_EXHDR(t) == len && memcmp(VARDATA_ANY(t), s, len) == 0;
}

/* The same for a field of a pattern's row */
static bool
field_is(const DeformedRow *r, const int *attnum, PatternField f, const char *s)
{
	return column_is(r, attnum[f], s);
}

/*
 * Decode a pattern whose fields are at attnum[] of the row: the one decoder
 * of every reader.  Strings go to the current context.  A NULL value_norm
 * (the trigger keeps it; a bypassed trigger may not have) is computed from
 * the value.
 */
static void
decode_pattern(HeapTuple tup, TupleDesc desc, const int *attnum, CatzPatternInput *p,
			   bool *active)
{
	DeformedRow row;
	DeformedRow *r = &row;
	Datum		d;
	int			len;
	char	   *value;
	char	   *norm;
	int			normlen;

	deform_row(tup, desc, r);
	memset(p, 0, sizeof(*p));
	if (field(r, attnum, PF_ID, &d))
		p->pattern_id = DatumGetInt64(d);
	if (field(r, attnum, PF_OWNER_ID, &d))
	{
		p->owner_id = DatumGetInt64(d);
		p->flags |= CATZ_PF_OWNER;
	}
	if (field(r, attnum, PF_CATEGORY_ID, &d))
		p->category_id = DatumGetInt64(d);
	p->kind = field_is(r, attnum, PF_KIND, "merchant") ? CATZ_KIND_MERCHANT :
		field_is(r, attnum, PF_KIND, "regex") ? CATZ_KIND_REGEX : CATZ_KIND_KEYWORD;
	value = text_field(r, attnum, PF_VALUE, &len);
	if (value == NULL)
		value = pstrdup("");
	if (p->kind == CATZ_KIND_REGEX)
	{
		p->value = value;
		p->value_len = (uint32) len;
	}
	else
	{
		norm = text_field(r, attnum, PF_VALUE_NORM, &normlen);
		if (norm == NULL)
			norm = catz_normalize_cstring(value, len, &normlen);
		p->value = norm;
		p->value_len = (uint32) normlen;
	}
	if (field(r, attnum, PF_AMOUNT_MIN, &d) && catz_numeric_to_double(d, &p->amount_min))
		p->flags |= CATZ_PF_AMOUNT_MIN;
	if (field(r, attnum, PF_AMOUNT_MAX, &d) && catz_numeric_to_double(d, &p->amount_max))
		p->flags |= CATZ_PF_AMOUNT_MAX;
	if (field(r, attnum, PF_PRIORITY, &d))
		p->priority = DatumGetInt32(d);
	*active = field(r, attnum, PF_ACTIVE, &d) && DatumGetBool(d);
	if (field_is(r, attnum, PF_SOURCE, "learned"))
		p->flags |= CATZ_PF_LEARNED;
	if (field(r, attnum, PF_HITS, &d))
		p->hits = DatumGetInt64(d);
	if (field(r, attnum, PF_MISSES, &d))
		p->misses = DatumGetInt64(d);
	if (field(r, attnum, PF_CONFIRMED, &d))
		p->confirmed = DatumGetInt64(d);
	if (field(r, attnum, PF_TAUGHT, &d))
		p->taught = DatumGetInt64(d);
	if (field(r, attnum, PF_WEIGHT, &d))
		p->weight = DatumGetFloat8(d);
	if (field(r, attnum, PF_WEIGHT_AT, &d))
		p->weight_at = DatumGetInt64(d);
	p->log_amount = NAN;
	if (field(r, attnum, PF_LOG_AMOUNT, &d))
	{
		p->log_amount = DatumGetFloat8(d);
		p->flags |= CATZ_PF_AMOUNT_SEEN;
	}
	deformed_free(r);
}

void
catz_pattern_columns(TupleDesc desc, CatzPatternColumns *cols)
{
	int			f;

	for (f = 0; f < PF_COUNT; f++)
	{
		cols->attnum[f] = SPI_fnumber(desc, pattern_field_names[f]);
		if (cols->attnum[f] <= 0)
		{
			cols->attnum[f] = 0;
			if (f < PF_FIRST_OPTIONAL)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("column \"%s\" of categorize.patterns is missing", pattern_field_names[f]),
						 errhint("Update the extension with ALTER EXTENSION categorize UPDATE.")));
		}
	}
	cols->xid_attnum = cols->attnum[PF_CHANGE_XID];
	cols->owner_attnum = cols->attnum[PF_OWNER_ID];
}

void
catz_pattern_from_row(HeapTuple tup, TupleDesc desc, const CatzPatternColumns *cols,
					  CatzPatternInput *p, bool *active)
{
	decode_pattern(tup, desc, cols->attnum, p, active);
}

/* A row of the table (triggers): the fields are found by name */
void
catz_pattern_from_tuple(HeapTuple tup, TupleDesc desc, CatzPatternInput *p, bool *active)
{
	CatzPatternColumns cols;

	catz_pattern_columns(desc, &cols);
	decode_pattern(tup, desc, cols.attnum, p, active);
}

uint64
catz_row_xid(HeapTuple tup, TupleDesc desc, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(tup, desc, col, &isnull);

	return isnull ? 0 : DatumGetUInt64(d);
}

uint32
catz_expense_features(const char *m, int mlen, const char *d, int dlen,
					  bool has_amount, double amount, uint64 *features, uint32 cap)
{
	char	   *both = palloc(mlen + dlen + 2);
	uint32		n;

	memcpy(both, m, mlen);
	both[mlen] = ' ';
	memcpy(both + mlen + 1, d, dlen);
	n = (uint32) catz_features(both, mlen + dlen + 1, features, cap);
	n = (uint32) catz_add_amount_feature(features, n, cap, has_amount, amount);
	pfree(both);
	return n;
}

uint32
catz_doc_features(const char *merchant, int mlen,
				  const char *description, int dlen,
				  bool has_amount, double amount,
				  uint64 *features, uint32 cap)
{
	int			nm = 0;
	int			nd = 0;
	char	   *m = catz_normalize_cstring(merchant ? merchant : "", merchant ? mlen : 0, &nm);
	char	   *d = catz_normalize_cstring(description ? description : "", description ? dlen : 0, &nd);
	uint32		n = catz_expense_features(m, nm, d, nd, has_amount, amount, features, cap);

	pfree(m);
	pfree(d);
	return n;
}

/*
 * A correction's document from a deformed row's merchant, description,
 * category (text, text, int8) and amount columns: float8, or numeric when
 * amount_numeric
 */
static uint32
doc_from(const DeformedRow *row, int m_col, int d_col, int c_col, int amount_col,
		 bool amount_numeric, CatzModelDoc *doc, uint64 *features)
{
	int			mlen;
	int			dlen;
	char	   *m = text_column(row, m_col, &mlen);
	char	   *d = text_column(row, d_col, &dlen);
	Datum		c;
	Datum		a;
	bool		has_amount = column(row, amount_col, &a);
	double		amount = 0;

	doc->category_id = column(row, c_col, &c) ? DatumGetInt64(c) : 0;
	if (has_amount && amount_numeric)
		has_amount = catz_numeric_to_double(a, &amount);
	else if (has_amount)
		amount = DatumGetFloat8(a);
	doc->nfeatures = catz_doc_features(m, mlen, d, dlen, has_amount, amount,
									   features, CATZ_MAX_FEATURES);
	doc->features = features;
	if (m)
		pfree(m);
	if (d)
		pfree(d);
	return doc->nfeatures;
}

uint32
catz_doc_from_row(HeapTuple tup, TupleDesc desc, int first_col, int amount_col,
				  CatzModelDoc *doc, uint64 *features)
{
	DeformedRow row;

	deform_row(tup, desc, &row);
	(void) doc_from(&row, first_col, first_col + 1, first_col + 2, amount_col, false,
					doc, features);
	deformed_free(&row);
	return doc->nfeatures;
}

bool
catz_correction_doc(HeapTuple tup, TupleDesc desc, bool *has_owner, int64 *owner,
					CatzModelDoc *doc, uint64 *features)
{
	DeformedRow row;
	int			scope = SPI_fnumber(desc, "learn_scope");
	bool		teaches;

	deform_row(tup, desc, &row);
	teaches = column_is(&row, scope, "all") || column_is(&row, scope, "owner");
	if (teaches)
	{
		Datum		v;

		*has_owner = column(&row, SPI_fnumber(desc, "owner_id"), &v);
		*owner = *has_owner ? DatumGetInt64(v) : 0;
		(void) doc_from(&row, SPI_fnumber(desc, "merchant_name"), SPI_fnumber(desc, "description"),
						SPI_fnumber(desc, "to_category_id"), SPI_fnumber(desc, "amount"), true,
						doc, features);
	}
	deformed_free(&row);
	return teaches;
}

bool
catz_column_changed(HeapTuple before, HeapTuple after, TupleDesc desc, int attnum)
{
	Form_pg_attribute att = TupleDescAttr(desc, attnum - 1);
	bool		null1;
	bool		null2;
	Datum		d1 = heap_getattr(before, attnum, desc, &null1);
	Datum		d2 = heap_getattr(after, attnum, desc, &null2);

	if (null1 || null2)
		return null1 != null2;
	return !datumIsEqual(d1, d2, att->attbyval, att->attlen);
}
