/*-------------------------------------------------------------------------
 *
 * preview.c
 *	  What a rule would do before it exists, and categorization with its
 *	  confidence, for categorize.preview() and categorize.recategorize().
 *
 * preview_rule() compiles the previewed rule into a one-pattern set and
 * runs the engine with it as an extra source, as if it were a manual
 * pattern for everyone at priority 0: the rule matches an expense when it
 * is among the hits, and decides it when it comes out first.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"

#include "api/api.h"
#include "engine/engine.h"

PG_FUNCTION_INFO_V1(categorize_preview_rule);
PG_FUNCTION_INFO_V1(categorize_categorize_confidence);

/*
 * Pattern id and category of the previewed rule (never real ones).  The
 * largest id: in a tie the rule ranks after the patterns already there, as
 * a rule created now would (ids grow), so a duplicate of an existing rule
 * does not claim to decide.
 */
#define PREVIEW_PATTERN_ID	PG_INT64_MAX
#define PREVIEW_CATEGORY_ID	(-1)

/* The compiled rule, cached for a scan with the same rule */
typedef struct PreviewRule
{
	char	   *kind;
	char	   *value;
	bool		has_min;
	bool		has_max;
	double		amount_min;
	double		amount_max;
	CatzSet    *set;			/* NULL: the rule matches nothing */
} PreviewRule;

/* What preview_rule() and categorize_confidence() keep in fn_extra */
typedef struct PreviewCache
{
	PreviewRule *rule;			/* preview_rule() only */
	void	   *layout;			/* of the expense rows (expense.c) */
	TupleDesc	result;			/* of the result rows, blessed */
} PreviewCache;

/*
 * The call site's cache, made at its first call: the result type is looked
 * up once, not for every row
 */
static PreviewCache *
call_cache(FunctionCallInfo fcinfo)
{
	PreviewCache *cache = fcinfo->flinfo->fn_extra;

	if (cache == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
		TupleDesc	desc;

		if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "return type must be a row type");
		cache = palloc0(sizeof(PreviewCache));
		cache->result = BlessTupleDesc(CreateTupleDescCopy(desc));
		fcinfo->flinfo->fn_extra = cache;
		MemoryContextSwitchTo(old);
	}
	return cache;
}

/* Parse a pattern kind */
static uint8
parse_kind(const char *k)
{
	if (strcmp(k, "merchant") == 0)
		return CATZ_KIND_MERCHANT;
	if (strcmp(k, "keyword") == 0)
		return CATZ_KIND_KEYWORD;
	if (strcmp(k, "regex") == 0)
		return CATZ_KIND_REGEX;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid pattern kind \"%s\"", k),
			 errhint("The kinds are merchant, keyword and regex.")));
	pg_unreachable();
}

/* Compile the previewed rule into rule->set (NULL for an empty value) */
static void
compile_rule(PreviewRule *rule)
{
	CatzPatternInput p;
	int			len;
	size_t		size;
	size_t		bad;
	CatzStatus	st;

	memset(&p, 0, sizeof(p));
	p.pattern_id = PREVIEW_PATTERN_ID;
	p.category_id = PREVIEW_CATEGORY_ID;
	p.kind = parse_kind(rule->kind);
	if (p.kind == CATZ_KIND_REGEX)
	{
		catz_validate_regex(rule->value, strlen(rule->value));
		p.value = rule->value;
		p.value_len = strlen(rule->value);
	}
	else
	{
		p.value = catz_normalize_cstring(rule->value, strlen(rule->value), &len);
		p.value_len = len;
	}
	if (rule->has_min)
	{
		p.flags |= CATZ_PF_AMOUNT_MIN;
		p.amount_min = rule->amount_min;
	}
	if (rule->has_max)
	{
		p.flags |= CATZ_PF_AMOUNT_MAX;
		p.amount_max = rule->amount_max;
	}
	rule->set = NULL;
	st = catz_set_build(&p, 1, &catz_palloc_allocator, &rule->set, &size, &bad);
	if (st == CATZ_EINVAL)
		rule->set = NULL;		/* a value of no words matches nothing */
	else if (st != CATZ_OK)
		catz_report_status(st, "compiling the previewed rule");
}

/* Read an optional numeric amount bound */
static bool
amount_arg(FunctionCallInfo fcinfo, int argno, double *out)
{
	return !PG_ARGISNULL(argno) && catz_numeric_to_double(PG_GETARG_DATUM(argno), out);
}

/* The compiled rule of this call's arguments, compiled once per scan */
static PreviewRule *
rule_of_call(FunctionCallInfo fcinfo, PreviewCache *cache)
{
	PreviewRule *rule = cache->rule;
	char	   *kind = text_to_cstring(PG_GETARG_TEXT_PP(1));
	char	   *value = text_to_cstring(PG_GETARG_TEXT_PP(2));
	double		amin = 0;
	double		amax = 0;
	bool		has_min = amount_arg(fcinfo, 3, &amin);
	bool		has_max = amount_arg(fcinfo, 4, &amax);
	MemoryContext old;

	if (rule != NULL && strcmp(rule->kind, kind) == 0 && strcmp(rule->value, value) == 0 &&
		rule->has_min == has_min && rule->has_max == has_max &&
		(!has_min || rule->amount_min == amin) && (!has_max || rule->amount_max == amax))
		return rule;

	/* A new rule: the old one's memory stays until the query ends */
	old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
	rule = palloc0(sizeof(PreviewRule));
	rule->kind = pstrdup(kind);
	rule->value = pstrdup(value);
	rule->has_min = has_min;
	rule->has_max = has_max;
	rule->amount_min = amin;
	rule->amount_max = amax;
	compile_rule(rule);
	MemoryContextSwitchTo(old);
	cache->rule = rule;
	return rule;
}

/* Categorize e with the rule as an extra source: does it match, decide? */
static void
run_rule(const CatzSet *set, const CatzExpense *e, bool *matches, bool *decides)
{
	CatzResult	res;
	int			i;

	catz_engine_set_extra(set);
	PG_TRY();
	{
		catz_engine_categorize(e, 1, &res);
		for (i = 0; i < res.nhits; i++)
			if (res.hits[i].entry->pattern_id == PREVIEW_PATTERN_ID)
				*matches = true;
		*decides = res.ncandidates > 0 &&
			res.candidates[0].source == CATZ_SOURCE_PATTERN &&
			res.candidates[0].hit->entry->pattern_id == PREVIEW_PATTERN_ID;
	}
	PG_FINALLY();
	{
		catz_engine_set_extra(NULL);
		catz_engine_release();
	}
	PG_END_TRY();
}

/*
 * categorize.preview_rule(expense record, pattern_kind, value, amount_min,
 * amount_max, OUT matches, OUT decides): whether the rule, added for
 * everyone at priority 0, would match this expense, and whether it would
 * then decide it (come out first)
 */
Datum
categorize_preview_rule(PG_FUNCTION_ARGS)
{
	Datum		values[2];
	bool		nulls[2] = {false, false};
	CatzExpense e;
	PreviewCache *cache = call_cache(fcinfo);
	PreviewRule *rule;
	bool		matches = false;
	bool		decides = false;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_NULL();
	rule = rule_of_call(fcinfo, cache);
	if (rule->set != NULL)
	{
		catz_expense_from_record_cached(&cache->layout, PG_GETARG_HEAPTUPLEHEADER(0), &e);
		run_rule(rule->set, &e, &matches, &decides);
	}
	values[0] = BoolGetDatum(matches);
	values[1] = BoolGetDatum(decides);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(cache->result, values, nulls)));
}

/*
 * categorize.categorize_confidence(expense record): what categorize()
 * decides, with the confidence of it.  For re-categorizing history: it does
 * not count a hit for the deciding pattern, so running it again over the
 * same rows leaves reliabilities, and so confidences, as they were.
 */
Datum
categorize_categorize_confidence(PG_FUNCTION_ARGS)
{
	CatzExpense e;
	PreviewCache *cache = call_cache(fcinfo);
	Datum		values[2];
	bool		nulls[2] = {true, true};
	double		confidence = 0;
	int64		category;

	if (catz_enabled)
	{
		catz_warn_not_preloaded();
		catz_expense_from_record_cached(&cache->layout, PG_GETARG_HEAPTUPLEHEADER(0), &e);
		category = catz_categorize_counted(&e, &confidence, false);
		if (category >= 0)
		{
			values[0] = Int64GetDatum(category);
			values[1] = Float4GetDatum((float4) confidence);
			nulls[0] = nulls[1] = false;
		}
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(cache->result, values, nulls)));
}
