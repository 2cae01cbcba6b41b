/*-------------------------------------------------------------------------
 *
 * serve.c
 *	  Which scopes a match reads: the shared one when it can be shared
 *	  (cached, or built and published now), the cache policy that goes
 *	  with it (who folds a grown scope; what to do when everyone's
 *	  patterns do not fit), and the fold the worker runs.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/timestamp.h"

#include "refresh/refresh.h"

/* Stop sharing this database's scopes: everyone's scope does not fit */
static void
disable_shared(CatzSharedDb *db)
{
	LWLockAcquire(catz_shared->lock, LW_EXCLUSIVE);
	if (!db->disabled)
	{
		db->disabled = true;
		db->disabled_at = GetCurrentTimestamp();
		snprintf(db->disabled_reason, sizeof(db->disabled_reason),
				 "everyone's patterns do not fit in categorize.shared_cache_size (%d kB)",
				 catz_shared_cache_kb);
	}
	LWLockRelease(catz_shared->lock);
	ereport(WARNING,
			(errcode(ERRCODE_OUT_OF_MEMORY),
			 errmsg("categorize: the compiled patterns of this database do not fit in shared memory"),
			 errdetail("Each session now compiles its own copy; categorize.health() reports it."),
			 errhint("Raise categorize.shared_cache_size and restart the server.")));
}

/* Whether a scope just built holds nothing: no pattern, no correction */
static bool
built_empty(const CatzScope *scope)
{
	return !scope->needs_reload &&
		(scope->set == NULL || catz_set_count(scope->set) == 0) &&
		catz_model_docs(scope->model) == 0;
}

/*
 * Publications of a scope that find it stale (writers applied commits to
 * the published one while it was built or caught up) before the next
 * catch-up keeps writers out: at a few thousand commits a second every
 * attempt to publish a scope of 100k patterns would be stale
 */
#define PUBLISH_SHARED_TRIES 2

/*
 * Build a scope now and publish it, pinned, catching up with the commits
 * applied meanwhile; NULL when it cannot be shared (no room), or when empty
 * is given and the owner's scope holds nothing (then *empty is set)
 */
static CatzSharedScope *
build_and_publish(CatzSharedDb *db, bool global, int64 owner_id, bool *empty)
{
	CatzSharedScope *volatile s = NULL;
	CatzSharedScope *volatile draft = NULL;
	volatile bool exclusive = false;
	volatile bool no_room = false;
	CatzScope  *local;
	uint64		seen;

	seen = catz_shared_quiet_point(db);
	local = catz_scope_build(global, owner_id);
	if (global)
		pg_atomic_write_u64(&db->last_rebuild_us, (uint64) local->build_us);
	if (empty && !global && built_empty(local))
	{
		/* nothing to share: the session remembers the owner (empty_owners.c) */
		catz_scope_free(local);
		*empty = true;
		return NULL;
	}
	PG_TRY();
	{
		if (!local->needs_reload)
		{
			draft = catz_shared_draft(db, local);
			no_room = draft == NULL;
		}
		for (int tries = 1; draft != NULL; tries++)
		{
			bool		stale;

			s = catz_shared_publish(db, draft, local, seen, &stale);
			if (s != NULL || !stale)
			{
				no_room = s == NULL;
				break;
			}
			if (exclusive)
				break;			/* not while holding the slot: nobody applied */
			exclusive = tries >= PUBLISH_SHARED_TRIES;
			catz_catch_up(local, db, exclusive, &seen);
			catz_test_pause_build(tries);
			if (local->needs_reload)
				break;
			if (!catz_shared_redraft(draft, local))
			{
				no_room = true;
				break;
			}
		}
	}
	PG_FINALLY();
	{
		if (exclusive)
			catz_catch_up_done(db);
		if (s == NULL && draft != NULL)
			catz_shared_discard(draft);
		catz_scope_free(local);
	}
	PG_END_TRY();
	if (no_room && global)
		disable_shared(db);
	return s;
}

static CatzSharedScope *fold_here(CatzSharedDb *db, CatzSharedScope *s, bool global,
								  int64 owner_id);


/*
 * The shared scope of everyone (global) or of one owner, pinned: the cached
 * one (as the transaction keeps it: catz_shared_kept_global and
 * catz_shared_kept_owner), or one built now.  A scope whose overlay asked
 * for a fold is rebuilt here when no worker folds this database.  NULL when
 * it cannot be shared: the caller uses a backend-local scope.
 */
CatzSharedScope *
catz_serve_shared(CatzSharedDb *db, bool global, int64 owner_id, bool *empty)
{
	CatzSharedScope *s;
	bool		hit;

	if (empty)
		*empty = false;
	s = global ? catz_shared_kept_global(db) : catz_shared_kept_owner(db, owner_id, &hit);
	if (s != NULL && !(s->fold_requested && !catz_worker_serves(db) && !catz_xact_wrote()))
		return s;

	/* What a writing transaction sees must not be published */
	if (catz_xact_wrote())
		return s;
	if (s == NULL)
		return build_and_publish(db, global, owner_id, empty);
	return fold_here(db, s, global, owner_id);
}

/*
 * Fold a published scope s (pinned) that asked for it, in this session
 * because no worker serves the database: one session at a time, the others
 * keep reading s meanwhile.  Returns the new scope pinned, or s.
 */
static CatzSharedScope *
fold_here(CatzSharedDb *db, CatzSharedScope *s, bool global, int64 owner_id)
{
	uint32		expected = 0;
	CatzSharedScope *fresh = NULL;

	if (!pg_atomic_compare_exchange_u32(&s->fold_claimed, &expected, (uint32) MyProcPid))
		return s;
	PG_TRY();
	{
		fresh = build_and_publish(db, global, owner_id, NULL);
	}
	PG_FINALLY();
	{
		/* s stays pinned until here: the claim is released in memory still ours */
		pg_atomic_write_u32(&s->fold_claimed, 0);
	}
	PG_END_TRY();
	if (fresh == NULL)
		return s;				/* no room for the new one: keep reading s */
	catz_shared_unpin(s);		/* kept or not */
	return fresh;
}

void
catz_serve_fold(CatzSharedDb *db, bool global, int64 owner_id)
{
	CatzSharedScope *s = build_and_publish(db, global, owner_id, NULL);

	if (s)
	{
		catz_shared_unpin(s);
		pg_atomic_fetch_add_u64(&catz_shared->worker_folds, 1);
	}
}
