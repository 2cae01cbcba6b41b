/*-------------------------------------------------------------------------
 *
 * expense.c
 *	  Read an expense from the arguments of a SQL call: a row of any type,
 *	  or the separate values.
 *
 * A row's fields are found by name: merchant_name and description (any
 * type; text types are read directly, others through their output
 * function), amount (numeric, an integer or float type, or money),
 * user_id (an integer type, or an integral numeric), and id (read for
 * learning when it is an integer).  A missing field counts as NULL; a
 * field of a type that cannot mean what its name says is an error.
 *
 * The lookup of field positions and converters is cached per row type:
 * in fn_extra (or a slot the caller names) for the rest of a statement,
 * and in a small cache of the backend's, checked against the type cache's
 * identifier of the row type's current descriptor, so that neither a scan
 * of a million rows nor a prepared statement run once per expense repeats
 * the catalog lookups.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "access/tupdesc.h"
#include "catalog/pg_type.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/cash.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/memutils.h"
#include "utils/typcache.h"

#include "base/base.h"

/* How to read one field */
typedef enum FieldReader
{
	READ_ABSENT,				/* no such field */
	READ_TEXT,					/* text, varchar, bpchar */
	READ_NAME,
	READ_OUTPUT,				/* any other type: output function */
	READ_NUMERIC,
	READ_INT2,
	READ_INT4,
	READ_INT8,
	READ_FLOAT4,
	READ_FLOAT8,
	READ_MONEY,
	READ_UNUSABLE				/* a type this field cannot have (id only) */
} FieldReader;

/* Cached layout of one row type */
typedef struct RowLayout
{
	Oid			type_id;		/* InvalidOid while being built */
	int32		typmod;
	uint64		desc_id;		/* assign_record_type_identifier() */
	TupleDesc	desc;
	int			attnum[5];		/* merchant, description, amount, user, id */
	FieldReader reader[5];
	FmgrInfo	output[2];		/* output functions of merchant, description */
	TupleTableSlot *slot;		/* deforms a row up to the last field read */
	int			last_attnum;
} RowLayout;

enum
{
	F_MERCHANT,
	F_DESCRIPTION,
	F_AMOUNT,
	F_USER,
	F_ID
};

static const char *const field_names[5] = {"merchant_name", "description", "amount", "user_id", "id"};

/* The backend's layouts, replaced in turn */
#define LAYOUT_CACHE_SIZE	8
static RowLayout *layouts[LAYOUT_CACHE_SIZE];
static int	layout_next = 0;
static MemoryContext layout_cxt = NULL;

/* The reader for a text-like field of type typid (base type of a domain) */
static FieldReader
text_reader(Oid typid)
{
	switch (typid)
	{
		case TEXTOID:
		case VARCHAROID:
		case BPCHAROID:
			return READ_TEXT;
		case NAMEOID:
			return READ_NAME;
		default:
			return READ_OUTPUT;
	}
}

/* The reader for a number field, or READ_UNUSABLE */
static FieldReader
number_reader(Oid typid, bool allow_fraction)
{
	switch (typid)
	{
		case INT2OID:
			return READ_INT2;
		case INT4OID:
			return READ_INT4;
		case INT8OID:
			return READ_INT8;
		case NUMERICOID:
			return READ_NUMERIC;
		case FLOAT4OID:
			return allow_fraction ? READ_FLOAT4 : READ_UNUSABLE;
		case FLOAT8OID:
			return allow_fraction ? READ_FLOAT8 : READ_UNUSABLE;
		case CASHOID:
			return allow_fraction ? READ_MONEY : READ_UNUSABLE;
		default:
			return READ_UNUSABLE;
	}
}

/*
 * Where the fields of a row type are and how to read them: the statement's
 * (a row type cannot change while a statement reads it: that takes a lock
 * the statement's lock conflicts with), else the backend's for the row
 * type's current descriptor, else worked out now
 */
static RowLayout *
layout_for(void **cache, Oid type_id, int32 typmod)
{
	RowLayout  *layout = *cache;
	uint64		desc_id;
	TupleDesc	desc;
	int			f;
	int			i;

	if (layout && layout->type_id == type_id && layout->typmod == typmod)
		return layout;
	desc_id = assign_record_type_identifier(type_id, typmod);
	for (i = 0; i < LAYOUT_CACHE_SIZE; i++)
	{
		layout = layouts[i];
		if (layout && layout->type_id == type_id && layout->typmod == typmod &&
			layout->desc_id == desc_id)
		{
			*cache = layout;
			return layout;
		}
	}

	/* Work it out in the next entry; it is valid only once complete */
	if (layout_cxt == NULL)
		layout_cxt = AllocSetContextCreate(TopMemoryContext, "categorize row layouts",
										   ALLOCSET_SMALL_SIZES);
	layout = layouts[layout_next];
	if (layout == NULL)
		layout = layouts[layout_next] = MemoryContextAllocZero(layout_cxt, sizeof(RowLayout));
	else
	{
		if (layout->slot)
			ExecDropSingleTupleTableSlot(layout->slot);
		if (layout->desc)
			FreeTupleDesc(layout->desc);
		memset(layout, 0, sizeof(RowLayout));
	}
	layout_next = (layout_next + 1) % LAYOUT_CACHE_SIZE;

	desc = lookup_rowtype_tupdesc(type_id, typmod);
	{
		MemoryContext old = MemoryContextSwitchTo(layout_cxt);

		layout->desc = CreateTupleDescCopy(desc);
		MemoryContextSwitchTo(old);
	}
	ReleaseTupleDesc(desc);

	for (f = 0; f < 5; f++)
	{
		layout->attnum[f] = 0;
		layout->reader[f] = READ_ABSENT;
		for (i = 0; i < layout->desc->natts; i++)
		{
			Form_pg_attribute att = TupleDescAttr(layout->desc, i);
			Oid			base;

			if (att->attisdropped || strcmp(NameStr(att->attname), field_names[f]) != 0)
				continue;
			base = getBaseType(att->atttypid);
			layout->attnum[f] = i + 1;
			layout->last_attnum = Max(layout->last_attnum, i + 1);
			switch (f)
			{
				case F_MERCHANT:
				case F_DESCRIPTION:
					layout->reader[f] = text_reader(base);
					if (layout->reader[f] == READ_OUTPUT)
					{
						Oid			out;
						bool		varlena;

						getTypeOutputInfo(att->atttypid, &out, &varlena);
						fmgr_info_cxt(out, &layout->output[f], layout_cxt);
					}
					break;
				case F_AMOUNT:
				case F_USER:
					layout->reader[f] = number_reader(base, f == F_AMOUNT);
					if (layout->reader[f] == READ_UNUSABLE)
						ereport(ERROR,
								(errcode(ERRCODE_DATATYPE_MISMATCH),
								 errmsg("field \"%s\" of type %s cannot be used",
										field_names[f], format_type_be(att->atttypid)),
								 errdetail(f == F_AMOUNT
										   ? "categorize reads \"amount\" as a number (numeric, an integer or float type, or money)."
										   : "categorize reads \"user_id\" as an integer (smallint, integer, bigint or an integral numeric)."),
								 errhint("Pass a row whose field has a suitable type, or call the form of the function that takes values.")));
					break;
				case F_ID:
					layout->reader[f] = number_reader(base, false);
					break;
			}
			break;
		}
	}
	{
		MemoryContext old = MemoryContextSwitchTo(layout_cxt);

		layout->slot = MakeSingleTupleTableSlot(layout->desc, &TTSOpsHeapTuple);
		MemoryContextSwitchTo(old);
	}
	layout->typmod = typmod;
	layout->desc_id = desc_id;
	layout->type_id = type_id;
	*cache = layout;
	return layout;
}

/*
 * Exact powers of ten as doubles (10^22 is the largest a double holds
 * exactly)
 */
static const double exact_powers_of_ten[] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
};

/* Bits of the first word of a stored numeric */
#define NUMERIC_WORD_SPECIAL	0xC000	/* both: NaN or an infinity */
#define NUMERIC_WORD_SHORT		0x8000	/* the short form */
#define NUMERIC_WORD_LONG_NEG	0x4000	/* long form: negative */
#define NUMERIC_WORD_SHORT_NEG	0x2000	/* short form: negative */
#define NUMERIC_WORD_SHORT_WEIGHT_NEG 0x0040	/* short form: weight's sign */
#define NUMERIC_WORD_SHORT_WEIGHT 0x003F	/* short form: weight's bits */
#define NUMERIC_BASE			10000	/* a digit's base: 4 decimal digits */

/*
 * A numeric's value as a double, read off its stored form when that is
 * cheap and exact; false means "ask numeric_float8".  The stored form
 * (which pg_upgrade keeps as it is) is a first word with the sign and, in
 * the short form, the weight; in the long form a second word with the
 * weight; then base-10000 digits, most significant first, the first of
 * them weighing 10000^weight.  When the digits make an integer M below
 * 2^53 and the value is M times or over a power of ten up to 10^22, both
 * operands are exact doubles and one IEEE operation rounds the exact value
 * correctly: the double numeric_float8 gives.  (numeric_float8 prints the
 * value and parses it back, which cost more than the rest of reading a
 * row.)
 */
static bool
numeric_to_double_exact(Datum num, double *out)
{
	struct varlena *v = (struct varlena *) DatumGetPointer(num);
	const char *p;
	int			size;
	uint16		word;
	int			weight;
	bool		negative;
	int			ndigits;
	uint64		m = 0;
	int			exponent;
	double		value;
	int			i;

	if (VARATT_IS_EXTENDED(v) && !VARATT_IS_SHORT(v))
		return false;			/* compressed or out of line */
	p = VARDATA_ANY(v);
	size = VARSIZE_ANY_EXHDR(v);
	if (size < (int) sizeof(uint16))
		return false;
	memcpy(&word, p, sizeof(word));
	if ((word & NUMERIC_WORD_SPECIAL) == NUMERIC_WORD_SPECIAL)
		return false;			/* NaN, infinities */
	if (word & NUMERIC_WORD_SHORT)
	{
		negative = (word & NUMERIC_WORD_SHORT_NEG) != 0;
		weight = word & NUMERIC_WORD_SHORT_WEIGHT;
		if (word & NUMERIC_WORD_SHORT_WEIGHT_NEG)
			weight -= NUMERIC_WORD_SHORT_WEIGHT + 1;
		p += sizeof(uint16);
		size -= sizeof(uint16);
	}
	else
	{
		int16		w;

		if (size < (int) (2 * sizeof(uint16)))
			return false;
		negative = (word & NUMERIC_WORD_LONG_NEG) != 0;
		memcpy(&w, p + sizeof(uint16), sizeof(w));
		weight = w;
		p += 2 * sizeof(uint16);
		size -= 2 * sizeof(uint16);
	}
	ndigits = size / (int) sizeof(int16);
	if (ndigits > 4)
		return false;			/* more than 16 decimal digits */
	for (i = 0; i < ndigits; i++)
	{
		int16		d;

		memcpy(&d, p + i * sizeof(int16), sizeof(d));
		if (d < 0 || d >= NUMERIC_BASE)
			return false;
		m = m * NUMERIC_BASE + (uint64) d;
	}
	if (m == 0)
	{
		*out = 0.0;
		return true;
	}
	if (m > (UINT64_C(1) << 53))
		return false;
	exponent = 4 * (weight - ndigits + 1);
	if (exponent > 22 || exponent < -22)
		return false;
	value = exponent >= 0 ? (double) m * exact_powers_of_ten[exponent]
		: (double) m / exact_powers_of_ten[-exponent];
	*out = negative ? -value : value;
	return true;
}

bool
catz_numeric_to_double(Datum num, double *out)
{
	Numeric		n;

	if (numeric_to_double_exact(num, out))
		return true;
	n = DatumGetNumeric(num);

	if (numeric_is_nan(n))
		return false;
	*out = DatumGetFloat8(DirectFunctionCall1(numeric_float8_no_overflow, num));
	return !isnan(*out);
}

/* Read a text-like field into (ptr, len); false when NULL */
static bool
read_text(RowLayout *layout, int f, Datum v, const char **ptr, int *len)
{
	switch (layout->reader[f])
	{
		case READ_TEXT:
			{
				text	   *t = DatumGetTextPP(v);

				*ptr = VARDATA_ANY(t);
				*len = VARSIZE_ANY_EXHDR(t);
				return true;
			}
		case READ_NAME:
			*ptr = NameStr(*DatumGetName(v));
			*len = strlen(*ptr);
			return true;
		case READ_OUTPUT:
			*ptr = OutputFunctionCall(&layout->output[f], v);
			*len = strlen(*ptr);
			return true;
		default:
			return false;
	}
}

/* Read a number field as double; false when it has no usable value */
static bool
read_double(FieldReader reader, Datum v, double *out)
{
	switch (reader)
	{
		case READ_INT2:
			*out = DatumGetInt16(v);
			return true;
		case READ_INT4:
			*out = DatumGetInt32(v);
			return true;
		case READ_INT8:
			*out = (double) DatumGetInt64(v);
			return true;
		case READ_FLOAT4:
			*out = DatumGetFloat4(v);
			return !isnan(*out);
		case READ_FLOAT8:
			*out = DatumGetFloat8(v);
			return !isnan(*out);
		case READ_NUMERIC:
			return catz_numeric_to_double(v, out);
		case READ_MONEY:
			return catz_numeric_to_double(DirectFunctionCall1(cash_numeric, v), out);
		default:
			return false;
	}
}

/* Whether a numeric is an integer that fits int64; it goes to *out */
static bool
numeric_to_int64(Datum v, int64 *out)
{
	Numeric		n = DatumGetNumeric(v);
	Datum		rounded;

	if (numeric_is_nan(n) || numeric_is_inf(n))
		return false;
	if (DatumGetInt32(DirectFunctionCall2(numeric_cmp, v,
										  DirectFunctionCall1(int8_numeric, Int64GetDatum(PG_INT64_MIN)))) < 0 ||
		DatumGetInt32(DirectFunctionCall2(numeric_cmp, v,
										  DirectFunctionCall1(int8_numeric, Int64GetDatum(PG_INT64_MAX)))) > 0)
		return false;
	rounded = DirectFunctionCall1(numeric_int8, v);
	if (DatumGetInt32(DirectFunctionCall2(numeric_cmp, v,
										  DirectFunctionCall1(int8_numeric, rounded))) != 0)
		return false;
	*out = DatumGetInt64(rounded);
	return true;
}

/*
 * Read an integer field.  A numeric that is no bigint integer is an error
 * for a field we need (strict), and for the others (id, read only for
 * learning) just no value.
 */
static bool
read_int64(FieldReader reader, Datum v, int64 *out, const char *field, bool strict)
{
	switch (reader)
	{
		case READ_INT2:
			*out = DatumGetInt16(v);
			return true;
		case READ_INT4:
			*out = DatumGetInt32(v);
			return true;
		case READ_INT8:
			*out = DatumGetInt64(v);
			return true;
		case READ_NUMERIC:
			if (numeric_to_int64(v, out))
				return true;
			if (strict)
				ereport(ERROR,
						(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
						 errmsg("%s %s is not an integer in the range of bigint", field,
								DatumGetCString(DirectFunctionCall1(numeric_out, v)))));
			return false;
		default:
			return false;
	}
}

/*
 * Read the fields of a tuple laid out by layout, deformed once up to the
 * last of them (fetching each by itself walked the row from its start for
 * every field after the first text).  The fields' values are taken out of
 * the slot before any is converted, so that a conversion that comes back
 * here (an output function) cannot change them.
 */
static void
read_tuple(RowLayout *layout, HeapTuple tuple, CatzExpense *out)
{
	TupleTableSlot *slot = layout->slot;
	Datum		v[5];
	bool		present[5];
	int			f;

	memset(out, 0, sizeof(*out));
	if (layout->last_attnum == 0)
		return;
	ExecStoreHeapTuple(tuple, slot, false);
	slot_getsomeattrs(slot, layout->last_attnum);
	for (f = 0; f < 5; f++)
	{
		int			att = layout->attnum[f];

		present[f] = att != 0 && !slot->tts_isnull[att - 1];
		v[f] = present[f] ? slot->tts_values[att - 1] : (Datum) 0;
	}
	/* the values point into the tuple, which the slot must not outlive */
	ExecClearTuple(slot);

	if (present[F_MERCHANT])
		out->has_merchant = read_text(layout, F_MERCHANT, v[F_MERCHANT],
									  &out->merchant, &out->merchant_len);
	if (present[F_DESCRIPTION])
		out->has_description = read_text(layout, F_DESCRIPTION, v[F_DESCRIPTION],
										 &out->description, &out->description_len);
	if (present[F_AMOUNT])
	{
		out->has_amount = read_double(layout->reader[F_AMOUNT], v[F_AMOUNT], &out->amount);
		if (layout->reader[F_AMOUNT] == READ_NUMERIC)
		{
			out->amount_numeric = v[F_AMOUNT];
			out->has_amount_numeric = true;
		}
	}
	if (present[F_USER])
		out->has_user = read_int64(layout->reader[F_USER], v[F_USER], &out->user_id,
								   "user_id", true);
	if (present[F_ID])
		out->has_expense_id = read_int64(layout->reader[F_ID], v[F_ID], &out->expense_id,
										 "id", false);
}

void
catz_expense_from_record(FunctionCallInfo fcinfo, HeapTupleHeader rec, CatzExpense *out)
{
	catz_expense_from_record_cached(&fcinfo->flinfo->fn_extra, rec, out);
}

void
catz_expense_from_record_cached(void **cache, HeapTupleHeader rec, CatzExpense *out)
{
	RowLayout  *layout = layout_for(cache, HeapTupleHeaderGetTypeId(rec),
									HeapTupleHeaderGetTypMod(rec));
	HeapTupleData tuple;

	tuple.t_len = HeapTupleHeaderGetDatumLength(rec);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = rec;
	read_tuple(layout, &tuple, out);
}

void
catz_expense_from_tuple(FunctionCallInfo fcinfo, HeapTuple tuple, TupleDesc desc,
						CatzExpense *out)
{
	read_tuple(layout_for(&fcinfo->flinfo->fn_extra, desc->tdtypeid, desc->tdtypmod),
			   tuple, out);
}

void
catz_expense_from_values(FunctionCallInfo fcinfo, CatzExpense *out)
{
	memset(out, 0, sizeof(*out));
	if (PG_NARGS() > 0 && !PG_ARGISNULL(0))
	{
		text	   *t = PG_GETARG_TEXT_PP(0);

		out->merchant = VARDATA_ANY(t);
		out->merchant_len = VARSIZE_ANY_EXHDR(t);
		out->has_merchant = true;
	}
	if (PG_NARGS() > 1 && !PG_ARGISNULL(1))
	{
		text	   *t = PG_GETARG_TEXT_PP(1);

		out->description = VARDATA_ANY(t);
		out->description_len = VARSIZE_ANY_EXHDR(t);
		out->has_description = true;
	}
	if (PG_NARGS() > 2 && !PG_ARGISNULL(2))
	{
		out->has_amount = catz_numeric_to_double(PG_GETARG_DATUM(2), &out->amount);
		out->amount_numeric = PG_GETARG_DATUM(2);
		out->has_amount_numeric = true;
	}
	if (PG_NARGS() > 3 && !PG_ARGISNULL(3))
	{
		out->user_id = PG_GETARG_INT64(3);
		out->has_user = true;
	}
}
