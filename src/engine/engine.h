/*-------------------------------------------------------------------------
 *
 * engine.h
 *	  The engine: categorize one expense against the served scopes (match,
 *	  rank, model back-off), and the settings that shape its answer.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CATZ_ENGINE_H
#define CATZ_ENGINE_H

#include "base/base.h"

/* Settings of the answer (engine_guc.c) */
extern bool catz_enabled;
extern double catz_min_confidence;
extern int	catz_rollout_percent;
extern void catz_engine_init(void);

#define CATZ_MAX_K	1000

/* The outcome of categorizing one expense */
typedef struct CatzResult
{
	int			ncandidates;
	CatzCandidate *candidates;	/* best first */
	CatzHit    *hits;			/* every pattern that matched */
	int			nhits;
	char	   *merchant_norm;	/* normalized merchant name (NUL-terminated) */
	char	   *description_norm;	/* normalized description */
} CatzResult;

/*
 * Categorize an expense: up to k candidates, best first.  With k == 1 the
 * model is consulted only when no pattern matched.  Allocates in the
 * current memory context.
 */
extern void catz_engine_categorize(const CatzExpense *e, int k, CatzResult *res);

/*
 * Categorize for categorize(), the trigger and recategorize(): the
 * category, or -1 below categorize.min_confidence; counts the call, and the
 * decision (a hit of the deciding pattern, at commit) when count_decision:
 * the trigger's categorization of a row only, never a read.  The
 * confidence goes to *confidence when not NULL.
 */
extern int64 catz_categorize_counted(const CatzExpense *e, double *confidence,
									  bool count_decision);

/*
 * Release the shared scopes the last catz_engine_categorize() pinned and
 * locked.  Call it as soon as the result's hits are no longer needed, and
 * before running SQL; error paths call it too.
 */
extern void catz_engine_release(void);

/*
 * Enter a call's memory context (returns the context to leave with);
 * leave it, freeing what the call allocated (decide.c)
 */
extern MemoryContext catz_call_enter(MemoryContext *mine);
extern void catz_call_leave(MemoryContext old, MemoryContext mine);

/* Match a previewed rule (a one-pattern set) as if it existed; NULL to stop */
extern void catz_engine_set_extra(const CatzSet *rule);

/*
 * A regex pattern compiled as the engine compiles it (cached): whether it
 * provably matches nothing (or does not compile), whether it matches text
 * (the bytes matched go to *matched)
 */
extern bool catz_regex_impossible(const char *pattern, size_t len);
extern bool catz_regex_match(const char *pattern, size_t len, const char *text, int textlen,
							 uint32 *matched);

/* Count a categorization decided by the top candidate (pattern hits) */
extern void catz_engine_count_decision(const CatzResult *res);

#endif							/* CATZ_ENGINE_H */
