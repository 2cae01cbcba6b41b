/*-------------------------------------------------------------------------
 *
 * refresh.c
 *	  Keep the compiled scopes equal to the committed contents of
 *	  categorize.patterns and categorize.corrections.
 *
 * Plain DML on a user table sends no invalidation, so every writer (the C
 * triggers on our tables, and therefore learn_correction() too) queues
 * CacheInvalidateRelcacheByRelid() for the table it changed.  That message
 * is transactional: other backends receive it when the writer commits, and
 * a hot standby replays it from the commit record after the commit became
 * visible there.  Our relcache callback only marks this backend stale.
 *
 * The next call that finds it stale reads what changed since the previous
 * read, and nothing else (changes.c), and applies it to the cached scopes:
 *
 *	backend-local mode: this backend's own scopes (scope.c), with the
 *		snapshot of its previous read as F;
 *	shared mode: the shared scopes of the database (shared_scope.c), with
 *		the database's F in shared memory.  One backend refreshes at a time;
 *		a stale backend first checks whether a refresh that started after it
 *		became stale has completed (then it has nothing to do), otherwise it
 *		refreshes or waits for the refresh under way.  So a change costs one
 *		incremental read for the whole server, however many backends.
 *
 * Rows are applied to a scope only if its own base snapshot did not see
 * them (a scope loaded after F).  Scopes not cached are left alone: they
 * load fresh on first use.  A change of the reload epoch (TRUNCATE,
 * corrections updated or deleted) drops every cached scope instead.
 *
 * The transaction's own rows are never applied here: triggers put them in
 * the transaction overlay (scope.c), and our own xid is added to the saved
 * F, so the read after commit returns them like anyone else's.
 *
 * In shared mode on a primary, a writer applies its own committed changes
 * to the shared scopes, once for the server.  Before commit it reads back
 * the rows it wrote, as a refresh would read them after its commit (the
 * final version of each row: no speculative insert of an upsert, nothing
 * of a subtransaction rolled back); the commit callback, which runs after
 * the commit became visible and before its invalidation is sent, applies
 * them to the shared scopes and records the xid in F as seen.  A reader
 * that the invalidation marks stale then finds nothing to do: it reads
 * `unapplied', the count of commits that no writer applied, and refreshes
 * only if that moved past what the last refresh took in.  A commit is left
 * to a refresh when it wrote many rows (bulk loads, learn_from()), bumped
 * the reload epoch (TRUNCATE), when a refresh holds the slot, when F has no
 * room for another seen xid, and for writes by logical replication.
 * Standbys (whose writers are elsewhere), a state built during recovery
 * and servers with prepared transactions (COMMIT PREPARED sends the
 * invalidation from another backend) always refresh on invalidation.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/parallel.h"
#include "access/xlog.h"
#include "access/transam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "refresh/refresh.h"

/* Must look for changes before the next use */
static bool stale = true;

/* Shared mode: refresh_started when we last became stale */
static uint64 stale_mark = 0;

/* Backend-local mode: the snapshot of the last read (F) */
static CatzSnapshot fetch_snap;
static MemoryContext fetch_cxt = NULL;

/* catz_own_writes() when last refreshed: a write of ours makes us stale */
static uint64 writes_seen = 0;

/* After a subtransaction abort: rebuild the transaction overlay */
static bool own_rows_reload = false;

/* The shared slot of this backend's database, once known */
static CatzSharedDb *my_db = NULL;

/* Start of the statement that last took in invalidations (read committed) */
static TimestampTz accepted_at = 0;

/*
 * The committing transaction's own changes, read before commit, for the
 * commit to apply (own_commit_ready); its id
 */
#define CATZ_OWN_COMMIT_MAX_ROWS 256
static MemoryContext own_commit_cxt = NULL;
static List *own_commit_changes = NIL;
static bool own_commit_ready = false;
static uint64 own_commit_fxid = 0;

/* This transaction bumped the reload epoch: every session reloads */
static bool own_epoch_bumped = false;

static void prepare_own_commit(void);
static void apply_commit(bool prepared);
static void forget_own_commit(void);
static void release_refresh_slot(CatzSharedDb *db);

/* Mark this backend stale (and remember where shared refreshes stood) */
static void
mark_stale(void)
{
	stale = true;
	if (my_db)
		stale_mark = pg_atomic_read_u64(&my_db->refresh_started);
}

static void
relcache_callback(Datum arg, Oid relid)
{
	/* InvalidOid: the invalidation queue overflowed, anything may have changed */
	if (catz_relids_may_be_ours(relid))
		mark_stale();
}

static void
xact_callback(XactEvent event, void *arg)
{
	bool		commit;

	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
			prepare_own_commit();
			return;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PREPARE:
			commit = true;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			commit = false;
			break;
		default:
			return;
	}
	catz_stats_end_xact(commit);
	catz_decisions_end_xact(commit);
	if (!commit)
		catz_store_release_held();	/* pins held when an error struck */
	catz_shared_release_kept();
	if (commit && catz_xact_signalled())
		apply_commit(event == XACT_EVENT_PREPARE);
	forget_own_commit();
	own_epoch_bumped = false;
	if (catz_xact_wrote())
	{
		/* Our rows leave the overlay; the next refresh reads them if committed */
		catz_xact_reset();
		catz_scope_drop_temporary();
		mark_stale();
	}
	catz_xact_state_end();
}

static void
subxact_callback(SubXactEvent event, SubTransactionId mySubid,
				 SubTransactionId parentSubid, void *arg)
{
	/*
	 * An aborted subtransaction may have put rows in the transaction overlay
	 * that no longer exist.  Rare: drop what this transaction cached and
	 * read back what survives at the next refresh.
	 */
	if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		catz_store_release_held();
		if (catz_xact_wrote())
		{
			catz_xact_reset();
			catz_scope_drop_temporary();
			stale = true;
			own_rows_reload = true;
		}
	}
}

void
catz_own_epoch_bump(void)
{
	/*
	 * Everything cached may be gone (TRUNCATE) or changed: this transaction
	 * reloads scopes and its overlay from what it now sees.
	 */
	catz_scope_drop_all();
	catz_changes_forget_plans();
	catz_xact_reset();
	own_rows_reload = true;
	own_epoch_bumped = true;
	catz_note_own_write(CATZ_WROTE_ALL);
	stale = true;
}

/* ----------------------------------------------------------------
 * Sinks: where changed rows go
 * ----------------------------------------------------------------
 */

/* Backend-local mode: the loaded scope of a row, if it needs the row */
static CatzScope *
local_target(bool has_owner, int64 owner, uint64 xid)
{
	CatzScope  *scope = has_owner ? catz_scope_owner(owner, false) : catz_scope_global_if_loaded();

	if (scope == NULL || scope->needs_reload || catz_snapshot_sees(&scope->base_snap, xid))
		return NULL;
	return scope;
}

static void
local_sink(void *arg, bool has_owner, int64 owner, uint64 xid, const CatzBlobChange *c)
{
	CatzScope  *scope = local_target(has_owner, owner, xid);

	if (scope)
		catz_scope_apply(scope, c);
	/* an owner's correction also feeds the crowd's part of everyone's model */
	if (has_owner && c->op == CATZ_CHANGE_DOC && (scope = local_target(false, 0, xid)) != NULL)
		catz_scope_note_crowd(scope);
}

/* Shared mode: the published scope of a row, pinned, if it needs the row */
static CatzSharedScope *
shared_target(CatzSharedDb *db, bool has_owner, int64 owner, uint64 xid)
{
	CatzSharedScope *s = catz_shared_find(db, !has_owner, owner);

	if (s && catz_shared_scope_sees(s, xid))
	{
		catz_shared_unpin(s);
		return NULL;
	}
	return s;
}

static void
shared_sink(void *arg, bool has_owner, int64 owner, uint64 xid, const CatzBlobChange *c)
{
	CatzSharedScope *s = shared_target(arg, has_owner, owner, xid);

	if (s != NULL)
	{
		catz_shared_apply(s, c);
		catz_shared_unpin(s);
	}
	/* an owner's correction also feeds the crowd's part of everyone's model */
	if (has_owner && c->op == CATZ_CHANGE_DOC && (s = shared_target(arg, false, 0, xid)) != NULL)
	{
		catz_shared_note_crowd(s);
		catz_shared_unpin(s);
	}
	/* after the change is in place: sessions that found the owner empty look again */
	if (has_owner)
		catz_owner_changed((CatzSharedDb *) arg, owner);
}

/* A change of this transaction, copied for its commit to apply */
typedef struct OwnChange
{
	bool		has_owner;
	int64		owner_id;
	CatzBlobChange change;		/* points into the two below */
	CatzPatternInput pattern;
	CatzModelDoc doc;
} OwnChange;

/* Keep a row read back (CatzChangeSink) */
static void
own_commit_sink(void *arg, bool has_owner, int64 owner, uint64 xid, const CatzBlobChange *c)
{
	OwnChange  *o;
	MemoryContext old;

	if (list_length(own_commit_changes) >= CATZ_OWN_COMMIT_MAX_ROWS)
	{
		own_commit_ready = false;
		return;
	}
	old = MemoryContextSwitchTo(own_commit_cxt);
	o = palloc0(sizeof(OwnChange));
	o->has_owner = has_owner;
	o->owner_id = owner;
	o->change.op = c->op;
	o->change.pattern_id = c->pattern_id;
	if (c->pattern)
	{
		o->pattern = *c->pattern;
		o->pattern.value = c->pattern->value ? pnstrdup(c->pattern->value, c->pattern->value_len) : NULL;
		o->change.pattern = &o->pattern;
	}
	if (c->doc)
	{
		o->doc = catz_doc_copy(c->doc);
		o->change.doc = &o->doc;
	}
	own_commit_changes = lappend(own_commit_changes, o);
	MemoryContextSwitchTo(old);
}

/*
 * Before commit: read back what this transaction wrote, for its commit to
 * apply, when it is small and the shared scopes of a primary can take it
 */
static void
prepare_own_commit(void)
{
	CatzSharedDb *db;
	CatzSpi		spi_level;

	forget_own_commit();
	if (!catz_xact_signalled() || !catz_xact_wrote() || own_epoch_bumped ||
		catz_xact_writes() > CATZ_OWN_COMMIT_MAX_ROWS || RecoveryInProgress() ||
		IsInParallelMode() || !catz_shared_enabled())
		return;
	db = catz_shared_db(false);
	own_commit_fxid = catz_own_fxid();
	if (db == NULL || db->disabled || own_commit_fxid == 0)
		return;
	if (own_commit_cxt == NULL)
		own_commit_cxt = AllocSetContextCreate(TopMemoryContext, "categorize own commit",
											   ALLOCSET_SMALL_SIZES);
	own_commit_ready = true;
	/* the rows of the transaction's last command too */
	CommandCounterIncrement();
	PushActiveSnapshot(GetTransactionSnapshot());
	spi_level = catz_spi_connect();
	catz_changes_read_own(own_commit_fxid, catz_xact_tables_written(), GetActiveSnapshot(),
						  own_commit_sink, NULL);
	catz_spi_finish(spi_level);
	PopActiveSnapshot();
	if (own_commit_changes == NIL)
		own_commit_ready = false;
}

static void
forget_own_commit(void)
{
	own_commit_changes = NIL;
	own_commit_ready = false;
	own_commit_fxid = 0;
	if (own_commit_cxt)
		MemoryContextReset(own_commit_cxt);
}

/*
 * Testing aid (categorize.test_apply_after_other): hold this commit's apply
 * until another writer has applied one (at most a minute), in a wait that
 * pg_stat_activity shows as wait_event Extension; so a test can make two
 * writers of one row apply in the order opposite to their commits
 */
static bool test_apply_after_other = false;

static void
test_wait_for_other_writer(CatzSharedDb *db)
{
	uint64		applied = pg_atomic_read_u64(&db->writer_applied);
	int			i;

	for (i = 0; i < 6000 && pg_atomic_read_u64(&db->writer_applied) == applied; i++)
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 10,
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/* Whether this transaction's change c is to a pattern (put or delete) */
static bool
changes_pattern(const CatzBlobChange *c)
{
	return c->op == CATZ_CHANGE_PUT || c->op == CATZ_CHANGE_DELETE;
}

/*
 * Whether our commit, ending at end, may apply after the later commits
 * already applied: none of them changed a pattern we changed (refresh slot
 * held)
 */
static bool
may_apply_late(CatzSharedDb *db, XLogRecPtr end)
{
	ListCell   *lc;
	int			i;

	if (db->applied_floor > end)
		return false;			/* a later commit's entries may be gone */
	foreach(lc, own_commit_changes)
	{
		OwnChange  *o = lfirst(lc);

		if (!changes_pattern(&o->change))
			continue;
		for (i = 0; i < CATZ_APPLIED_PATTERNS; i++)
			if (db->applied_end[i] > end && db->applied_pattern[i] == o->change.pattern_id)
				return false;
	}
	return true;
}

/* Remember the patterns our commit, ending at end, changed (refresh slot held) */
static void
remember_applied(CatzSharedDb *db, XLogRecPtr end)
{
	ListCell   *lc;

	foreach(lc, own_commit_changes)
	{
		OwnChange  *o = lfirst(lc);
		uint32		slot;

		if (!changes_pattern(&o->change))
			continue;
		slot = db->applied_next++ % CATZ_APPLIED_PATTERNS;
		db->applied_floor = Max(db->applied_floor, db->applied_end[slot]);
		db->applied_end[slot] = end;
		db->applied_pattern[slot] = o->change.pattern_id;
	}
	db->last_applied_commit = Max(db->last_applied_commit, end);
}

/*
 * Apply this transaction's changes, just committed, to the shared scopes
 * and record its xid in F; false if it must be left to a refresh.  Runs in
 * the commit callback, where an error would be a PANIC: nothing here raises
 * one (an allocation that fails retires its scope; readers reload it).
 *
 * Writers apply one at a time, but not always in the order they
 * committed: this transaction is visible before its callback runs, and a
 * writer that updated one of our rows meanwhile (following the update
 * chain, not waiting for us) may apply its newer version first.  Applied
 * after it, ours would put the older version back.  So a commit older than
 * the latest one applied applies only if no later commit applied changed
 * a pattern it changed (documents add up in any order); otherwise, or when
 * the ring of applied patterns no longer reaches back to it, it is left to
 * a refresh, which reads each row's latest version (and skips those of
 * transactions already applied).
 */
static bool
apply_own_commit(CatzSharedDb *db)
{
	uint64		xid = own_commit_fxid;
	uint32		expected = 0;
	CatzFetchState st;
	bool		ok = false;
	ListCell   *lc;

	if (!own_commit_ready || db->disabled)
		return false;
	if (test_apply_after_other)
		test_wait_for_other_writer(db);
	/* a refresh under way may have read before our commit: leave it to the next */
	if (!pg_atomic_compare_exchange_u32(&db->refresh_running, &expected, (uint32) MyProcPid))
		return false;
	/* writers that committed after us applied first, one of our patterns too */
	if (XactLastCommitEnd <= db->last_applied_commit && !may_apply_late(db, XactLastCommitEnd))
	{
		release_refresh_slot(db);
		return false;
	}
	/* a scope being published must catch up with this commit too */
	(void) pg_atomic_add_fetch_u64(&db->refresh_started, 1);
	LWLockAcquire(catz_shared->lock, LW_SHARED);
	st = catz_shared_fetch_state(db, xid);
	LWLockRelease(catz_shared->lock);
	if (st == CATZ_FETCH_SEEN)
		ok = true;				/* a refresh that started after our commit read it */
	else if (st == CATZ_FETCH_UNSEEN)
	{
		foreach(lc, own_commit_changes)
		{
			OwnChange  *o = lfirst(lc);

			shared_sink(db, o->has_owner, o->owner_id, xid, &o->change);
		}
		LWLockAcquire(catz_shared->lock, LW_EXCLUSIVE);
		ok = catz_shared_fetch_mark_seen(db, xid);
		LWLockRelease(catz_shared->lock);
		remember_applied(db, XactLastCommitEnd);
		/* F was replaced meanwhile (the extension recreated): start over */
		if (!ok)
			catz_shared_retire_all(db);
	}
	if (ok)
		pg_atomic_fetch_add_u64(&db->writer_applied, 1);
	release_refresh_slot(db);
	return ok;
}

/*
 * The transaction that queued the change signal committed (or prepared):
 * apply its changes, or count it for the next refresh
 */
static void
apply_commit(bool prepared)
{
	CatzSharedDb *db = catz_shared_enabled() ? catz_shared_db(false) : NULL;

	if (db == NULL)
		return;					/* nothing shared yet: scopes load what committed */
	if (prepared)
	{
		/* COMMIT PREPARED will signal from another backend, uncounted */
		db->twophase = true;
		return;
	}
	if (!apply_own_commit(db))
		pg_atomic_fetch_add_u64(&db->unapplied, 1);
}

/* Whether the shared scopes already hold every commit readers were told of */
static bool
shared_current(CatzSharedDb *db)
{
	uint64		unapplied = pg_atomic_read_u64(&db->unapplied);

	pg_read_barrier();
	return !db->replayed && !db->twophase && !RecoveryInProgress() &&
		pg_atomic_read_u64(&db->unapplied_done) >= unapplied;
}

/* The transaction overlay, rebuilt from our surviving rows */
static void
own_sink(void *arg, bool has_owner, int64 owner, uint64 xid, const CatzBlobChange *c)
{
	catz_xact_apply(has_owner, owner, c);
}

/*
 * Catching up a scope being published: rows of its owner that F saw and it
 * did not, nor an earlier catch-up of it (a correction's document counts
 * once)
 */
typedef struct CatchUp
{
	CatzScope  *scope;
	const CatzSnapshot *fetch;
} CatchUp;

/*
 * Whether a row of the scope being caught up (the read passes its rows
 * only: CatzChangeRead.only) is missing from it
 */
static bool
catch_up_wants(const CatchUp *c, uint64 xid)
{
	const CatzScope *scope = c->scope;

	return catz_snapshot_sees(c->fetch, xid) && !catz_snapshot_sees(&scope->base_snap, xid) &&
		!(scope->caught_up.valid && catz_snapshot_sees(&scope->caught_up, xid));
}

static void
catch_up_sink(void *arg, bool has_owner, int64 owner, uint64 xid, const CatzBlobChange *change)
{
	CatchUp    *c = arg;

	if (catch_up_wants(c, xid))
		catz_scope_apply(c->scope, change);
}

/* ----------------------------------------------------------------
 * Refresh
 * ----------------------------------------------------------------
 */

/* Drop every cached scope and start over */
static void
full_reset(void)
{
	catz_forget_empty_owners();
	catz_scope_drop_all();
	catz_changes_forget_plans();
	if (fetch_cxt)
		MemoryContextReset(fetch_cxt);
	fetch_snap.valid = false;
	stale = true;
}

/* Backend-local refresh: read changes after our own F, apply to our scopes */
static void
refresh_local(void)
{
	CatzSpi		spi_level;
	Snapshot	snap = RegisterSnapshot(catz_fresh_snapshot());
	bool		ok = false;

	/*
	 * With the shared engine a backend usually holds no local scope: then
	 * no change needs applying here, and F moves on to now without reading
	 * anything (a scope loaded later starts from its own base snapshot).
	 * So a committed correction costs a reader only this snapshot, not a
	 * read of the changed rows per session.
	 */
	if (fetch_snap.valid && !catz_scope_any_cached())
		ok = true;
	else if (fetch_snap.valid)
	{
		CatzChangeRead r = {&fetch_snap, snap, catz_own_fxid()};

		spi_level = catz_spi_connect();
		ok = catz_changes_read(&r, local_sink, NULL);
		catz_spi_finish(spi_level);
	}
	if (!ok)
	{
		catz_scope_drop_all();
		catz_changes_forget_plans();
	}
	if (fetch_cxt == NULL)
		fetch_cxt = AllocSetContextCreate(TopMemoryContext, "categorize refresh",
										  ALLOCSET_SMALL_SIZES);
	MemoryContextReset(fetch_cxt);
	if (catz_snapshot_copy(snap, fetch_cxt, &fetch_snap))
		catz_snapshot_add_xid(&fetch_snap, catz_own_fxid(), fetch_cxt);
	UnregisterSnapshot(snap);
}

/* Whether a prepared transaction of this database is waiting for its COMMIT PREPARED */
static bool
any_prepared_xact(void)
{
	CatzSpi		spi_level = catz_spi_connect();
	bool		any;

	if (SPI_execute("SELECT 1 FROM pg_catalog.pg_prepared_xacts "
					"WHERE database = pg_catalog.current_database() LIMIT 1", true, 1) != SPI_OK_SELECT)
		elog(ERROR, "categorize: could not read pg_prepared_xacts");
	any = SPI_processed > 0;
	catz_spi_finish(spi_level);
	return any;
}

/* One shared refresh; the caller holds the refresh slot */
static void
refresh_shared_locked(CatzSharedDb *db)
{
	CatzSpi		spi_level;
	uint64		seq = pg_atomic_add_fetch_u64(&db->refresh_started, 1);
	uint64		unapplied = pg_atomic_read_u64(&db->unapplied); /* read before the snapshot */
	bool		twophase = db->twophase;
	Snapshot	snap;
	MemoryContext tmp = AllocSetContextCreate(CurrentMemoryContext, "categorize shared refresh",
											  ALLOCSET_SMALL_SIZES);
	CatzSnapshot since;
	CatzSnapshot next;
	bool		ok = true;

	/* prepared transactions of ours may commit from another backend: look again */
	if (twophase)
	{
		db->twophase = false;
		pg_memory_barrier();
		twophase = any_prepared_xact();
		if (twophase)
			db->twophase = true;
	}
	pg_memory_barrier();
	snap = RegisterSnapshot(catz_fresh_snapshot());
	catz_shared_get_fetch_snap(db, tmp, &since);
	if (since.valid)
	{
		CatzChangeRead r = {&since, snap, catz_own_fxid()};

		spi_level = catz_spi_connect();
		ok = catz_changes_read(&r, shared_sink, db);
		catz_spi_finish(spi_level);
	}
	if (!ok)
		catz_shared_retire_all(db);

	(void) catz_snapshot_copy(snap, tmp, &next);
	catz_snapshot_add_xid(&next, catz_own_fxid(), tmp);
	LWLockAcquire(catz_shared->lock, LW_EXCLUSIVE);
	if (since.valid || DsaPointerIsValid(db->global))
	{
		/* if F cannot be stored, nothing cached can be trusted any more */
		if (!catz_shared_set_fetch_snap(db, &next))
		{
			LWLockRelease(catz_shared->lock);
			catz_shared_retire_all(db);
			LWLockAcquire(catz_shared->lock, LW_EXCLUSIVE);
		}
	}
	pg_atomic_write_u64(&db->refresh_done, seq);
	pg_atomic_write_u64(&db->unapplied_done, unapplied);
	pg_atomic_fetch_add_u64(&db->refreshes, 1);
	db->replayed = RecoveryInProgress();
	LWLockRelease(catz_shared->lock);
	UnregisterSnapshot(snap);
	MemoryContextDelete(tmp);
}

/* Release the refresh slot if we hold it (error and exit paths too) */
static void
release_refresh_slot(CatzSharedDb *db)
{
	uint32		me = (uint32) MyProcPid;

	if (pg_atomic_compare_exchange_u32(&db->refresh_running, &me, 0))
		ConditionVariableBroadcast(&db->refresh_cv);
}

/* Wait until no refresh is running; returns refresh_started then */
uint64
catz_shared_quiet_point(CatzSharedDb *db)
{
	ConditionVariablePrepareToSleep(&db->refresh_cv);
	while (pg_atomic_read_u32(&db->refresh_running) != 0)
		ConditionVariableSleep(&db->refresh_cv, PG_WAIT_EXTENSION);
	ConditionVariableCancelSleep();
	return pg_atomic_read_u64(&db->refresh_started);
}

/*
 * Take the refresh slot, waiting while a refresh or a writer's apply holds
 * it; false, without it, once a refresh that started after *done_after is
 * done (done_after NULL: wait for the slot whatever is done)
 */
static bool
take_refresh_slot(CatzSharedDb *db, const uint64 *done_after)
{
	uint32		expected;
	bool		taken = false;

	Assert(pg_atomic_read_u32(&db->refresh_running) != (uint32) MyProcPid);
	ConditionVariablePrepareToSleep(&db->refresh_cv);
	for (;;)
	{
		if (done_after && pg_atomic_read_u64(&db->refresh_done) > *done_after)
			break;
		expected = 0;
		if ((taken = pg_atomic_compare_exchange_u32(&db->refresh_running, &expected,
													 (uint32) MyProcPid)))
			break;
		ConditionVariableSleep(&db->refresh_cv, PG_WAIT_EXTENSION);
	}
	ConditionVariableCancelSleep();
	return taken;
}

/* Shared refresh: unless someone already did it, become the refresher or wait */
static void
refresh_shared(CatzSharedDb *db)
{
	/* done already by a refresh that started after we became stale, or ours to do */
	if (shared_current(db) || !take_refresh_slot(db, &stale_mark))
		return;
	PG_TRY();
	{
		refresh_shared_locked(db);
	}
	PG_FINALLY();
	{
		release_refresh_slot(db);
	}
	PG_END_TRY();
}

void
catz_catch_up(CatzScope *scope, CatzSharedDb *db, bool exclusive, uint64 *seen)
{
	CatzSpi		spi_level;
	CatzSnapshot fetch;
	Snapshot	snap;
	CatchUp		c;
	CatzChangeRead r;

	if (exclusive)
	{
		(void) take_refresh_slot(db, NULL);
		*seen = pg_atomic_read_u64(&db->refresh_started);
	}
	else
		*seen = catz_shared_quiet_point(db);
	/* F as it is now is what the scope holds after this: kept in its context */
	catz_shared_get_fetch_snap(db, scope->cxt, &fetch);
	if (fetch.valid && scope->base_snap.valid)
	{
		/*
		 * Read what neither our base snapshot nor the last catch-up's F
		 * (it applied every row F saw then) saw, from whichever of the two
		 * has the later xmin (F's stays where the last refresh left it,
		 * which may be long before the build: every row since would be
		 * read, with writers kept out); keep what F saw now
		 */
		snap = RegisterSnapshot(catz_fresh_snapshot());
		c.scope = scope;
		c.fetch = &fetch;
		r.since = scope->caught_up.valid && scope->caught_up.xmin > scope->base_snap.xmin ?
			&scope->caught_up : &scope->base_snap;
		r.snap = snap;
		r.own = catz_own_fxid();
		r.only = scope;
		spi_level = catz_spi_connect();
		if (!catz_changes_read(&r, catch_up_sink, &c))
			scope->needs_reload = true;
		catz_spi_finish(spi_level);
		UnregisterSnapshot(snap);
	}
	if (scope->caught_up.xip)
		pfree(scope->caught_up.xip);
	if (scope->caught_up.seen)
		pfree((void *) scope->caught_up.seen);
	scope->caught_up = fetch;
}

void
catz_catch_up_done(CatzSharedDb *db)
{
	release_refresh_slot(db);
}

void
catz_refresh(void)
{
	CatzSpi		spi_level;
	CatzSharedDb *db;
	Oid			patterns_relid;

	/*
	 * Read committed: a statement sees what committed before it started.
	 * Invalidations are processed at transaction start and when a lock is
	 * taken, so a transaction that already holds its locks would keep
	 * using what it compiled before other sessions' commits.  Take them in
	 * once per statement: a read of the invalidation queue's state.
	 */
	if (!IsolationUsesXactSnapshot())
	{
		TimestampTz stmt = GetCurrentStatementStartTimestamp();

		if (stmt != accepted_at)
		{
			accepted_at = stmt;
			AcceptInvalidationMessages();
		}
	}

	if (catz_own_writes() != writes_seen)
	{
		writes_seen = catz_own_writes();
		stale = true;
	}
	if (!stale)
		return;

	/* The tables may have been dropped and recreated */
	if (catz_relids_recheck())
	{
		full_reset();
		if ((db = catz_shared_db(false)) != NULL)
			catz_shared_retire_all(db);
	}
	patterns_relid = catz_relids()->patterns;

	db = catz_shared_db(true);
	if (db && !my_db)
	{
		/*
		 * A new backend received no invalidation for what committed before
		 * it started: it needs a refresh that starts from now on.
		 */
		my_db = db;
		stale_mark = pg_atomic_read_u64(&db->refresh_started);
	}
	if (db)
		catz_shared_db_bind(db, patterns_relid);
	if (db && !db->disabled)
		refresh_shared(db);
	refresh_local();			/* backend-local scopes (fallbacks, temporary) */

	/* The transaction overlay must hold this transaction's surviving rows */
	if (own_rows_reload)
	{
		uint64		own = catz_own_fxid();

		own_rows_reload = false;
		if (own != 0)
		{
			spi_level = catz_spi_connect();
			catz_changes_read_own(own, catz_xact_tables_written(), NULL, own_sink, NULL);
			catz_spi_finish(spi_level);
		}
	}
	stale = false;
}

void
catz_refresh_init(void)
{
	DefineCustomBoolVariable("categorize.test_apply_after_other",
							 "Testing aid: a writer's commit waits before it applies its changes to the shared scopes until another writer has applied one (at most a minute).",
							 NULL,
							 &test_apply_after_other,
							 false,
							 PGC_SUSET,
							 GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE,
							 NULL, NULL, NULL);
	catz_standby_install_hook();
	CacheRegisterRelcacheCallback(relcache_callback, (Datum) 0);
	RegisterXactCallback(xact_callback, NULL);
	RegisterSubXactCallback(subxact_callback, NULL);
}
