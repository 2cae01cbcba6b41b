/*-------------------------------------------------------------------------
 *
 * decisions.c
 *	  How many times each pattern was the engine's answer: the counts
 *	  behind a pattern's reliability and the "pinned until applied once"
 *	  rule of learned patterns.
 *
 * A categorization counts for its deciding pattern when its transaction
 * commits: until then the count is pending in this backend, so that
 * categorize() answers the same way within a transaction (it is STABLE)
 * and a rolled-back categorization teaches nothing.  Committed counts live
 * in shared memory when the library is preloaded (shmem.c), else in this
 * backend.
 *
 * Reading the shared counts takes a shared LWLock and a dynahash lookup
 * per hit, the largest cost of a categorization after matching itself.
 * This backend keeps what it read in a small cache, valid for the rest of
 * the statement and, across statements, for DECISION_CACHE_USECS: counts
 * move slowly, and a reliability a tenth of a second old changes no
 * answer that matters.  Its own commits clear the cache, so a session
 * always sees its own decisions at once.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "common/hashfn.h"
#include "miscadmin.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "categorize.h"
#include "shared.h"

/* How long cached shared counts are used across statements */
#define DECISION_CACHE_USECS	(100 * 1000)

/* Counts of one pattern, in a pattern_id -> counts table */
typedef struct DecisionSlot
{
	int64		pattern_id;		/* the key */
	char		status;			/* simplehash's */
	CatzDecisions counts;
} DecisionSlot;

#define SH_PREFIX		decision_table
#define SH_ELEMENT_TYPE	DecisionSlot
#define SH_KEY_TYPE		int64
#define SH_KEY			pattern_id
#define SH_HASH_KEY(tb, key) murmurhash32((uint32) (key) ^ (uint32) ((uint64) (key) >> 32))
#define SH_EQUAL(tb, a, b) ((a) == (b))
#define SH_SCOPE		static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

static decision_table_hash *pending = NULL; /* this transaction's */
static decision_table_hash *committed = NULL;	/* without shared memory */
static decision_table_hash *cache = NULL;	/* shared counts read lately */
static TimestampTz cache_statement = 0;	/* statement that filled the cache */

static decision_table_hash *
new_table(void)
{
	return decision_table_create(TopMemoryContext, 256, NULL);
}

/* Add n decisions of a pattern confirmed at `confirmed` */
static void
add(decision_table_hash *table, int64 pattern_id, int64 confirmed, int64 n)
{
	bool		found;
	DecisionSlot *s = decision_table_insert(table, pattern_id, &found);

	if (!found)
	{
		s->counts.decisions = 0;
		s->counts.confirmed = confirmed;
		s->counts.since = 0;
	}
	if (s->counts.confirmed != confirmed)
	{
		/* Confirmed again by a correction: the pin is back */
		s->counts.confirmed = confirmed;
		s->counts.since = 0;
	}
	s->counts.decisions += n;
	s->counts.since += n;
}

/* Drop the cache when it is too old for a new statement */
static void
check_cache_age(void)
{
	TimestampTz stmt = GetCurrentStatementStartTimestamp();

	if (cache == NULL)
	{
		cache = new_table();
		cache_statement = stmt;
	}
	else if (stmt != cache_statement && stmt - cache_statement > DECISION_CACHE_USECS)
	{
		decision_table_reset(cache);
		cache_statement = stmt;
	}
}

void
catz_decisions_get(int n, const int64 *pattern_ids, CatzDecisions *out)
{
	int			i;
	int			nmissing = 0;
	int64	   *missing;
	CatzDecisionEntry *read;

	memset(out, 0, sizeof(CatzDecisions) * n);
	if (!catz_shared_enabled())
	{
		for (i = 0; i < n && committed; i++)
		{
			DecisionSlot *s = decision_table_lookup(committed, pattern_ids[i]);

			if (s)
				out[i] = s->counts;
		}
		return;
	}

	check_cache_age();
	missing = palloc(sizeof(int64) * (n ? n : 1));
	for (i = 0; i < n; i++)
	{
		DecisionSlot *s = decision_table_lookup(cache, pattern_ids[i]);

		if (s)
			out[i] = s->counts;
		else
			missing[nmissing++] = pattern_ids[i];
	}
	if (nmissing == 0)
		return;

	read = palloc(sizeof(CatzDecisionEntry) * nmissing);
	catz_shared_decisions_get_many(MyDatabaseId, nmissing, missing, read);
	for (i = 0; i < nmissing; i++)
	{
		bool		found;
		DecisionSlot *s = decision_table_insert(cache, missing[i], &found);

		s->counts.decisions = read[i].decisions;
		s->counts.confirmed = read[i].confirmed;
		s->counts.since = read[i].since;
	}
	for (i = 0; i < n; i++)
		if (out[i].decisions == 0 && out[i].confirmed == 0)
		{
			DecisionSlot *s = decision_table_lookup(cache, pattern_ids[i]);

			if (s)
				out[i] = s->counts;
		}
}

int64
catz_decisions_of(int64 pattern_id)
{
	CatzDecisions d;

	catz_decisions_get(1, &pattern_id, &d);
	return d.decisions;
}

void
catz_decisions_count(int64 pattern_id, int64 confirmed)
{
	if (pending == NULL)
		pending = new_table();
	add(pending, pattern_id, confirmed, 1);
}

void
catz_decisions_end_xact(bool commit)
{
	decision_table_iterator it;
	DecisionSlot *s;

	if (pending == NULL || pending->members == 0)
		return;
	if (commit && committed == NULL && !catz_shared_enabled())
		committed = new_table();
	decision_table_start_iterate(pending, &it);
	while ((s = decision_table_iterate(pending, &it)) != NULL)
	{
		if (commit && catz_shared_enabled())
			catz_shared_decisions_add(MyDatabaseId, s->pattern_id, s->counts.confirmed,
									  s->counts.decisions);
		else if (commit)
			add(committed, s->pattern_id, s->counts.confirmed, s->counts.decisions);
	}
	decision_table_reset(pending);
	if (commit && cache)
		decision_table_reset(cache);	/* see our own decisions at once */
}
