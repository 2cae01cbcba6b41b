/*-------------------------------------------------------------------------
 *
 * functions.c
 *	  SQL entry points: categorize(), categorize_detail() and normalize().
 *
 * Every call works in a memory context of its own (catz_call_enter).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "portability/instr_time.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "api/api.h"
#include "engine/engine.h"
#include "shmem/shmem.h"

PG_FUNCTION_INFO_V1(categorize_normalize);
PG_FUNCTION_INFO_V1(categorize_record);
PG_FUNCTION_INFO_V1(categorize_values);
PG_FUNCTION_INFO_V1(categorize_detail_record);
PG_FUNCTION_INFO_V1(categorize_detail_values);

/* Shared body of the two forms of categorize(): a read, which counts no decision */
static Datum
categorize_common(FunctionCallInfo fcinfo, CatzExpense *e)
{
	int64		category;

	category = catz_categorize_counted(e, NULL, false);
	if (category < 0)
		PG_RETURN_NULL();
	PG_RETURN_INT64(category);
}

/* categorize.categorize(expense record) */
Datum
categorize_record(PG_FUNCTION_ARGS)
{
	CatzExpense e;

	if (!catz_enabled)
		PG_RETURN_NULL();
	catz_warn_not_preloaded();
	catz_expense_from_record(fcinfo, PG_GETARG_HEAPTUPLEHEADER(0), &e);
	return categorize_common(fcinfo, &e);
}

/* categorize.categorize(merchant_name, description, amount, user_id) */
Datum
categorize_values(PG_FUNCTION_ARGS)
{
	CatzExpense e;

	if (!catz_enabled)
		PG_RETURN_NULL();
	catz_warn_not_preloaded();
	catz_expense_from_values(fcinfo, &e);
	return categorize_common(fcinfo, &e);
}

/* Name of a pattern kind */
static const char *
kind_name(uint8 kind)
{
	switch (kind)
	{
		case CATZ_KIND_MERCHANT:
			return "merchant";
		case CATZ_KIND_REGEX:
			return "regex";
		default:
			return "keyword";
	}
}

/* Longest text a reason quotes whole */
#define REASON_QUOTE_BYTES	200

/* Append "text", cut at a character boundary with "..." when too long */
static void
append_quoted(StringInfo buf, const char *text)
{
	int			len = strlen(text);
	int			cut = len > REASON_QUOTE_BYTES ? pg_mbcliplen(text, len, REASON_QUOTE_BYTES) : len;

	appendStringInfo(buf, "\"%.*s%s\"", cut, text, cut < len ? "..." : "");
}

/* The human-readable reason of a candidate */
static char *
reason_text(const CatzCandidate *c, const CatzResult *res, const CatzExpense *e)
{
	StringInfoData buf;

	initStringInfo(&buf);
	if (c->source == CATZ_SOURCE_PATTERN)
	{
		const CatzHit *h = c->hit;
		const CatzEntry *en = h->entry;
		const char *field = h->field == CATZ_FIELD_MERCHANT ? "merchant name" : "description";
		const char *ftext = h->field == CATZ_FIELD_MERCHANT ? res->merchant_norm : res->description_norm;

		appendStringInfo(&buf, "%s%s pattern %lld \"%.*s\"",
						 (en->flags & CATZ_PF_LEARNED) ? "learned " : "",
						 kind_name(en->kind), (long long) en->pattern_id,
						 (int) en->value_len, catz_entry_value(h->blob, en));
		if (en->kind == CATZ_KIND_REGEX)
			appendStringInfo(&buf, " matched the %s", field);
		else if (h->exact)
		{
			appendStringInfo(&buf, " matched the whole %s ", field);
			append_quoted(&buf, ftext);
		}
		else
		{
			appendStringInfo(&buf, " matched %u word%s of the %s ",
							 h->match_words, h->match_words == 1 ? "" : "s", field);
			append_quoted(&buf, ftext);
		}
		if (en->flags & CATZ_PF_OWNER)
			appendStringInfo(&buf, "; owner %lld's own pattern", (long long) en->owner_id);
		else
			appendStringInfoString(&buf, "; everyone's pattern");
		if (en->priority != 0)
			appendStringInfo(&buf, ", priority %d", en->priority);
		if (en->flags & (CATZ_PF_AMOUNT_MIN | CATZ_PF_AMOUNT_MAX))
		{
			appendStringInfoString(&buf, ", amount");
			if (en->flags & CATZ_PF_AMOUNT_MIN)
				appendStringInfo(&buf, " >= %g", en->amount_min);
			if ((en->flags & CATZ_PF_AMOUNT_MIN) && (en->flags & CATZ_PF_AMOUNT_MAX))
				appendStringInfoString(&buf, " and");
			if (en->flags & CATZ_PF_AMOUNT_MAX)
				appendStringInfo(&buf, " <= %g", en->amount_max);
		}
		{
			long long	hits = (long long) (en->hits + h->decisions);
			long long	misses = (long long) en->misses;

			appendStringInfo(&buf, "; %lld hit%s, %lld miss%s, reliability %.2f",
							 hits, hits == 1 ? "" : "s", misses, misses == 1 ? "" : "es",
							 catz_pattern_reliability(en, h->decisions));
		}
	}
	else
	{
		appendStringInfo(&buf, "token model of %s corrections: %u known feature%s, probability %.2f",
						 c->own_model ? "this owner's and everyone's" : "everyone's",
						 c->known_features, c->known_features == 1 ? "" : "s",
						 c->model_probability);
		if (c->known_features == 0)
			appendStringInfoString(&buf, " (no known words: category frequency only)");
	}
	return buf.data;
}

/*
 * The user's corrections of the merchant behind the user's word: one entry
 * per category of the word's group, most weight first.  Copied out of the
 * scopes, which are released before the category names are looked up.
 */
typedef struct WordEvidence
{
	int			n;
	bool		owner;			/* an owner's patterns (else everyone's) */
	char	   *merchant;
	int64	   *category_id;
	int64	   *taught;
	double	   *weight;
	double	   *near;			/* exp(log_amount); NAN when unknown */
} WordEvidence;

static WordEvidence *
word_evidence(const CatzCandidate *c, const CatzResult *res)
{
	WordEvidence *w;
	int			i;
	int			j;

	if (c->source != CATZ_SOURCE_PATTERN || !c->hit->word)
		return NULL;
	w = palloc0(sizeof(WordEvidence));
	w->category_id = palloc(sizeof(int64) * res->nhits);
	w->taught = palloc(sizeof(int64) * res->nhits);
	w->weight = palloc(sizeof(double) * res->nhits);
	w->near = palloc(sizeof(double) * res->nhits);
	w->owner = (c->hit->entry->flags & CATZ_PF_OWNER) != 0;
	w->merchant = pnstrdup(catz_entry_value(c->hit->blob, c->hit->entry), c->hit->entry->value_len);
	for (i = 0; i < res->nhits; i++)
	{
		const CatzEntry *en = res->hits[i].entry;
		double		weight = res->hits[i].word_weight;

		if (!res->hits[i].word_group)
			continue;
		/* insertion by weight, most first */
		for (j = w->n; j > 0 && w->weight[j - 1] < weight; j--)
		{
			w->category_id[j] = w->category_id[j - 1];
			w->taught[j] = w->taught[j - 1];
			w->weight[j] = w->weight[j - 1];
			w->near[j] = w->near[j - 1];
		}
		w->category_id[j] = en->category_id;
		w->taught[j] = en->taught > 0 ? en->taught : 1;
		w->weight[j] = weight;
		w->near[j] = (en->flags & CATZ_PF_AMOUNT_SEEN) ? exp(en->log_amount) : NAN;
		w->n++;
	}
	return w;
}

/* Append "; your corrections of "m": 3 Groceries near 80.00, 1 ..." */
static void
append_word_evidence(StringInfo buf, const WordEvidence *w, char **names)
{
	int			i;

	appendStringInfo(buf, "; %s corrections of ", w->owner ? "your" : "everyone's");
	append_quoted(buf, w->merchant);
	appendStringInfoChar(buf, ':');
	for (i = 0; i < w->n; i++)
	{
		appendStringInfo(buf, "%s %lld ", i > 0 ? "," : "", (long long) w->taught[i]);
		if (names[i])
			appendStringInfoString(buf, names[i]);
		else
			appendStringInfo(buf, "category %lld", (long long) w->category_id[i]);
		if (!isnan(w->near[i]))
			appendStringInfo(buf, " near %.2f", w->near[i]);
	}
}

/* Look up the names of n categories (NULL for an unknown one) */
static char **
category_names(const int64 *category_ids, int n)
{
	CatzSpi		spi_level;
	char	  **names = palloc0(sizeof(char *) * (n ? n : 1));
	Datum	   *ids;
	ArrayType  *arr;
	Oid			argtypes[1] = {INT8ARRAYOID};
	Datum		args[1];
	uint64		i;
	int			j;
	MemoryContext callcxt = CurrentMemoryContext;

	if (n == 0)
		return names;
	ids = palloc(sizeof(Datum) * n);
	for (j = 0; j < n; j++)
		ids[j] = Int64GetDatum(category_ids[j]);
	arr = construct_array(ids, n, INT8OID, sizeof(int64), true, TYPALIGN_DOUBLE);
	args[0] = PointerGetDatum(arr);

	spi_level = catz_spi_connect();
	if (SPI_execute_with_args("SELECT id, name FROM categorize.categories WHERE id = ANY ($1)",
							  1, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "categorize: could not read category names");
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		int64		id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i],
													 SPI_tuptable->tupdesc, 1, &isnull));
		char	   *name = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);

		/* SPI memory goes away at SPI_finish: copy into the call's context */
		for (j = 0; j < n; j++)
			if (category_ids[j] == id && name)
				names[j] = MemoryContextStrdup(callcxt, name);
	}
	catz_spi_finish(spi_level);
	return names;
}

/* Shared body of the two forms of categorize_detail() */
static Datum
detail_common(FunctionCallInfo fcinfo, CatzExpense *e, int k)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	CatzResult	res;
	MemoryContext mine;
	MemoryContext old;

	if (k < 1 || k > CATZ_MAX_K)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("k must be between 1 and %d", CATZ_MAX_K),
				 errdetail("k was %d.", k)));
	InitMaterializedSRF(fcinfo, 0);
	if (!catz_enabled)
		return (Datum) 0;
	catz_warn_not_preloaded();

	old = catz_call_enter(&mine);
	PG_TRY();
	{
		char	  **names;
		Datum	  (*values)[7];
		bool	  (*nulls)[7];
		char	  **reasons;
		WordEvidence **words;
		int64	   *ids;
		int			nids;
		int			n;
		int			i;

		catz_engine_categorize(e, k, &res);

		/* Everything from the scopes first: they are released before SQL runs */
		n = res.ncandidates;
		values = palloc0(sizeof(*values) * (n ? n : 1));
		nulls = palloc0(sizeof(*nulls) * (n ? n : 1));
		reasons = palloc0(sizeof(char *) * (n ? n : 1));
		words = palloc0(sizeof(WordEvidence *) * (n ? n : 1));
		for (i = 0; i < n; i++)
		{
			const CatzCandidate *c = &res.candidates[i];

			values[i][0] = Int32GetDatum(i + 1);
			values[i][1] = Int64GetDatum(c->category_id);
			values[i][3] = Float4GetDatum((float4) c->confidence);
			if (c->source == CATZ_SOURCE_PATTERN)
			{
				values[i][4] = Int64GetDatum(c->hit->entry->pattern_id);
				values[i][5] = CStringGetTextDatum(kind_name(c->hit->entry->kind));
			}
			else
			{
				nulls[i][4] = true;
				values[i][5] = CStringGetTextDatum("model");
			}
			reasons[i] = reason_text(c, &res, e);
			words[i] = word_evidence(c, &res);
		}
		catz_engine_release();

		/* The names of the candidates' categories, then of the words' groups */
		ids = palloc(sizeof(int64) * (n + (n ? res.nhits : 0) + 1));
		for (nids = 0; nids < n; nids++)
			ids[nids] = res.candidates[nids].category_id;
		for (i = 0; i < n; i++)
			if (words[i])
			{
				memcpy(&ids[nids], words[i]->category_id, sizeof(int64) * words[i]->n);
				nids += words[i]->n;
			}
		names = category_names(ids, nids);
		nids = n;
		for (i = 0; i < n; i++)
		{
			if (words[i])
			{
				StringInfoData buf;

				initStringInfo(&buf);
				appendStringInfoString(&buf, reasons[i]);
				append_word_evidence(&buf, words[i], &names[nids]);
				nids += words[i]->n;
				reasons[i] = buf.data;
			}
			values[i][6] = CStringGetTextDatum(reasons[i]);
			if (names[i])
				values[i][2] = CStringGetTextDatum(names[i]);
			else
				nulls[i][2] = true;
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values[i], nulls[i]);
		}
	}
	PG_FINALLY();
	{
		catz_engine_release();
		catz_call_leave(old, mine);
	}
	PG_END_TRY();
	return (Datum) 0;
}

/* categorize.categorize_detail(expense record, k) */
Datum
categorize_detail_record(PG_FUNCTION_ARGS)
{
	CatzExpense e;

	catz_expense_from_record(fcinfo, PG_GETARG_HEAPTUPLEHEADER(0), &e);
	return detail_common(fcinfo, &e, PG_GETARG_INT32(1));
}

/* categorize.categorize_detail(merchant_name, description, amount, user_id, k) */
Datum
categorize_detail_values(PG_FUNCTION_ARGS)
{
	CatzExpense e;

	if (PG_ARGISNULL(4))
	{
		InitMaterializedSRF(fcinfo, 0);
		return (Datum) 0;
	}
	catz_expense_from_values(fcinfo, &e);
	return detail_common(fcinfo, &e, PG_GETARG_INT32(4));
}

/* categorize.normalize(text) */
Datum
categorize_normalize(PG_FUNCTION_ARGS)
{
	text	   *in = PG_GETARG_TEXT_PP(0);
	size_t		len = VARSIZE_ANY_EXHDR(in);
	size_t		cap = catz_normalize_capacity(len);
	text	   *out = palloc(VARHDRSZ + cap);
	size_t		n;

	n = catz_normalize(VARDATA_ANY(in), len, VARDATA(out), cap);
	SET_VARSIZE(out, VARHDRSZ + n);
	PG_RETURN_TEXT_P(out);
}
