/*-------------------------------------------------------------------------
 *
 * decide.c
 *	  The answer of one call of categorize(), the trigger or recategorize():
 *	  who is rolled out, the threshold, the counts, and the memory context
 *	  each call works in (reset when it ends, so a scan of millions of rows
 *	  or a PL/pgSQL loop leaks nothing, whatever context the caller runs in).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "portability/instr_time.h"
#include "utils/memutils.h"

#include "engine/engine.h"
#include "shmem/shmem.h"

/* A reusable per-call context; nested calls get one of their own */
static MemoryContext call_cxt = NULL;
static bool call_cxt_busy = false;

/* Enter a call's memory context; returns the context to leave with */
MemoryContext
catz_call_enter(MemoryContext *mine)
{
	if (call_cxt == NULL)
		call_cxt = AllocSetContextCreate(TopMemoryContext, "categorize call",
										 ALLOCSET_DEFAULT_SIZES);
	if (!call_cxt_busy)
	{
		call_cxt_busy = true;
		*mine = call_cxt;
	}
	else
		*mine = AllocSetContextCreate(CurrentMemoryContext, "categorize nested call",
									  ALLOCSET_DEFAULT_SIZES);
	return MemoryContextSwitchTo(*mine);
}

/* Leave a call's memory context and free what the call allocated */
void
catz_call_leave(MemoryContext old, MemoryContext mine)
{
	MemoryContextSwitchTo(old);
	if (mine == call_cxt)
	{
		MemoryContextReset(call_cxt);
		call_cxt_busy = false;
	}
	else
		MemoryContextDelete(mine);
}

/*
 * Whether categorize.rollout_percent leaves this expense's owner out: owners
 * fall in buckets 0-99 by a stable hash of user_id (no user is a bucket of
 * its own), and buckets below the percentage get categories
 */
static bool
rolled_out(const CatzExpense *e)
{
	int64		key;
	uint64		h;

	if (catz_rollout_percent >= 100)
		return false;
	key = e->has_user ? e->user_id : PG_INT64_MIN;
	h = catz_hash_bytes(&key, sizeof(key), 0x726f6c6c6f7574ull);
	return (int) (h % 100) >= catz_rollout_percent;
}

int64
catz_categorize_counted(const CatzExpense *e, double *confidence, bool count_decision)
{
	instr_time	start;
	instr_time	duration;
	CatzResult	res;
	volatile int64 category = -1;
	MemoryContext mine;
	MemoryContext old;

	INSTR_TIME_SET_CURRENT(start);
	if (rolled_out(e))
	{
		catz_stats_count_call(false, 0);
		return -1;
	}
	old = catz_call_enter(&mine);
	PG_TRY();
	{
		catz_engine_categorize(e, 1, &res);

		/*
		 * The trigger's first choice counts a decision for its pattern (at
		 * commit), even below the threshold: with the corrections against
		 * it (misses) and the confirmations (hits), reliability is its
		 * observed precision.  Reads (categorize() and the like) count
		 * nothing: re-reading an expense must not change any count.
		 */
		if (count_decision)
			catz_engine_count_decision(&res);

		/*
		 * The user's word (what the user's corrections of this merchant
		 * taught) is applied whatever its confidence: the learning contract.
		 * Its confidence is still reported as estimated.
		 */
		if (res.ncandidates > 0 &&
			(res.candidates[0].confidence >= catz_min_confidence ||
			 (res.candidates[0].source == CATZ_SOURCE_PATTERN && res.candidates[0].hit->word)))
		{
			category = res.candidates[0].category_id;
			if (confidence)
				*confidence = res.candidates[0].confidence;
		}
	}
	PG_FINALLY();
	{
		catz_engine_release();
		catz_call_leave(old, mine);
	}
	PG_END_TRY();
	INSTR_TIME_SET_CURRENT(duration);
	INSTR_TIME_SUBTRACT(duration, start);
	catz_stats_count_call(category >= 0, INSTR_TIME_GET_MICROSEC(duration));
	return category;
}
