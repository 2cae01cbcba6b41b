/*-------------------------------------------------------------------------
 *
 * conflicts.c
 *	  categorize.rule_conflicts(): the SQL face of the core's conflict
 *	  search (src/core/conflicts.c) over every active pattern.
 *
 * Reads the active patterns as the extension's owner, asks the engine
 * whether each regex provably matches nothing (it compiles them as it does
 * to categorize), hands them to catz_conflicts_find() and turns each
 * conflict into a row with a reason in words.  No pairwise comparison: the
 * core finds the pairs through one compiled set of all the patterns.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "base/base.h"
#include "engine/engine.h"

PG_FUNCTION_INFO_V1(categorize_rule_conflicts);

/* What the core's callbacks need */
typedef struct ConflictRun
{
	ReturnSetInfo *rsinfo;
	CatzPatternInput *pats;
	size_t		n;
} ConflictRun;

/* Core callback: whether regex pattern index matches text, as the engine runs it */
static bool
regex_match(void *arg, uint32_t index, const char *text, size_t len, uint32_t *matched)
{
	ConflictRun *run = arg;
	const CatzPatternInput *p = &run->pats[index];

	return catz_regex_match(p->value, p->value_len, text, (int) len, matched);
}

/* Core callback: let a cancel through */
static bool
tick(void *arg)
{
	CHECK_FOR_INTERRUPTS();
	return true;
}

static const char *
kind_name(uint8 kind)
{
	return kind == CATZ_KIND_MERCHANT ? "merchant" : kind == CATZ_KIND_REGEX ? "regex" : "keyword";
}

/* 'pattern 12 (merchant "tesco", category 3, user 7)' */
static void
describe(StringInfo s, const CatzPatternInput *p)
{
	appendStringInfo(s, "pattern %lld (%s%s \"%.*s\", category %lld",
					 (long long) p->pattern_id,
					 (p->flags & CATZ_PF_LEARNED) ? "learned " : "",
					 kind_name(p->kind), (int) Min(p->value_len, 100), p->value,
					 (long long) p->category_id);
	if (p->flags & CATZ_PF_OWNER)
		appendStringInfo(s, ", user %lld)", (long long) p->owner_id);
	else
		appendStringInfoString(s, ", everyone)");
}

/* The reason of a conflict, in words */
static char *
reason_of(const CatzConflict *c, const CatzPatternInput *p, const CatzPatternInput *w)
{
	StringInfoData s;

	initStringInfo(&s);
	describe(&s, p);
	switch (c->kind)
	{
		case CATZ_CONFLICT_SHADOWED:
			appendStringInfoString(&s, " never decides anything: ");
			describe(&s, w);
			appendStringInfo(&s, " fires on every expense it fires on and ranks first (%s)",
							 catz_rank_why_string(c->why));
			break;
		case CATZ_CONFLICT_OVERLAPPING:
			appendStringInfoString(&s, " is overruled where both fire: ");
			describe(&s, w);
			appendStringInfo(&s, " ranks first there (%s)", catz_rank_why_string(c->why));
			break;
		case CATZ_CONFLICT_DUPLICATE:
			appendStringInfoString(&s, " repeats ");
			describe(&s, w);
			appendStringInfo(&s, " (same kind, value, amount range and category), which ranks first (%s)",
							 catz_rank_why_string(c->why));
			break;
		default:
			appendStringInfo(&s, " can never match: %s", catz_never_why_string(c->why));
			break;
	}
	return s.data;
}

/* Core callback: one result row per conflict */
static bool
report(void *arg, const CatzConflict *c)
{
	static const char *const kinds[] = {"shadowed", "overlapping", "duplicate", "never_matches"};
	ConflictRun *run = arg;
	const CatzPatternInput *p = &run->pats[c->pattern];
	const CatzPatternInput *w = c->decider != CATZ_CONFLICT_NONE ? &run->pats[c->decider] : NULL;
	Datum		values[8];
	bool		nulls[8];
	char	   *reason;

	memset(nulls, 0, sizeof(nulls));
	values[0] = CStringGetTextDatum(kinds[Min(c->kind, CATZ_CONFLICT_NEVER_MATCHES)]);
	values[1] = Int64GetDatum(p->pattern_id);
	values[2] = Int64GetDatum(p->category_id);
	values[3] = w ? Int64GetDatum(w->pattern_id) : (Datum) 0;
	nulls[3] = (w == NULL);
	values[4] = w ? Int64GetDatum(w->category_id) : (Datum) 0;
	nulls[4] = (w == NULL);
	values[5] = Int64GetDatum(c->owner_id);
	nulls[5] = !c->has_owner;
	values[6] = c->example ? PointerGetDatum(cstring_to_text_with_len(c->example, c->example_len))
		: (Datum) 0;
	nulls[6] = (c->example == NULL);
	reason = reason_of(c, p, w);
	values[7] = CStringGetTextDatum(reason);
	tuplestore_putvalues(run->rsinfo->setResult, run->rsinfo->setDesc, values, nulls);
	pfree(reason);
	return true;
}

/* Read every active pattern into run, in the caller's memory context */
static void
load_patterns(ConflictRun *run)
{
	MemoryContext caller = CurrentMemoryContext;
	CatzSpi		spi = catz_spi_connect();
	CatzPatternColumns cols;
	uint64		i;
	int			rc;

	rc = SPI_execute("SELECT " PATTERN_COLUMNS " FROM categorize.patterns WHERE active ORDER BY id",
					 true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "categorize: reading the patterns failed: %s", SPI_result_code_string(rc));
	catz_pattern_columns(SPI_tuptable->tupdesc, &cols);

	/* The decoded patterns outlive SPI_finish */
	{
		MemoryContext spi_cxt = MemoryContextSwitchTo(caller);

		run->pats = palloc0(sizeof(CatzPatternInput) * Max(SPI_processed, 1));
		run->n = 0;
		for (i = 0; i < SPI_processed; i++)
		{
			bool		active;

			CHECK_FOR_INTERRUPTS();
			catz_pattern_from_row(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, &cols,
								  &run->pats[run->n], &active);
			if (active)
				run->n++;
		}
		MemoryContextSwitchTo(spi_cxt);
	}
	catz_spi_finish(spi);
}

/*
 * categorize.rule_conflicts(OUT conflict, OUT pattern_id, OUT category_id,
 * OUT decided_by, OUT decided_by_category_id, OUT owner_id, OUT example,
 * OUT reason)
 */
Datum
categorize_rule_conflicts(PG_FUNCTION_ARGS)
{
	ConflictRun run;
	bool	   *impossible;
	size_t		i;
	CatzConflictCallbacks cb;
	CatzStatus	st;

	InitMaterializedSRF(fcinfo, 0);
	memset(&run, 0, sizeof(run));
	run.rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	load_patterns(&run);

	impossible = palloc0(sizeof(bool) * Max(run.n, 1));
	for (i = 0; i < run.n; i++)
	{
		const CatzPatternInput *p = &run.pats[i];

		CHECK_FOR_INTERRUPTS();
		if (p->kind == CATZ_KIND_REGEX && p->value_len > 0 &&
			p->value_len <= CATZ_MAX_PATTERN_BYTES)
			impossible[i] = catz_regex_impossible(p->value, p->value_len);
	}

	cb.regex_match = regex_match;
	cb.report = report;
	cb.tick = tick;
	cb.arg = &run;
	st = catz_conflicts_find(run.pats, run.n, impossible, &cb, &catz_palloc_allocator);
	if (st != CATZ_OK)
		catz_report_status(st, "finding rule conflicts");
	return (Datum) 0;
}
