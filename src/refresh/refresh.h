/*-------------------------------------------------------------------------
 *
 * refresh.h
 *	  Keeping the served scopes current: reading the rows that changed
 *	  since a snapshot (changes.c), applying them to cached scopes
 *	  (refresh.c), building and publishing scopes when missing or grown
 *	  (serve.c), the owners known to have nothing of their own
 *	  (empty_owners.c), and the standby's write errors (standby.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CATZ_REFRESH_H
#define CATZ_REFRESH_H

#include "base/base.h"
#include "shmem/shmem.h"
#include "store/store.h"

/* What to read: rows changed after `since`, read under `snap` */
typedef struct CatzChangeRead
{
	const CatzSnapshot *since;	/* F: rows it saw are skipped */
	Snapshot	snap;			/* the snapshot to read with */
	uint64		own;			/* our own xid (skipped), or 0 */
	const CatzScope *only;		/* only this scope's rows (a catch-up), the
								 * others skipped undecoded; NULL: all */
} CatzChangeRead;

/* Where the rows go: each as a change, with its owner and xid */
typedef void (*CatzChangeSink) (void *arg, bool has_owner, int64 owner, uint64 xid,
								const CatzBlobChange *change);

/*
 * Read the changes after r->since and pass them to the sink (inside SPI,
 * which the caller has connected).  Returns false without reading further
 * when the reload epoch changed: everything cached must be dropped.
 */
extern bool catz_changes_read(const CatzChangeRead *r, CatzChangeSink sink, void *arg);

/*
 * Read the rows this transaction (xid own) wrote and still has, in the
 * tables it wrote (CATZ_WROTE_*: catz_xact_tables_written()): those snap
 * sees (it must see the transaction's last command), or with NULL those
 * a statement run now sees
 */
extern void catz_changes_read_own(uint64 own, uint32 tables, Snapshot snap, CatzChangeSink sink,
								  void *arg);

/* Forget prepared queries (the tables may have been recreated) */
extern void catz_changes_forget_plans(void);

/* ----------------------------------------------------------------
 * Refresh (refresh.c): bring this backend's scopes, or the shared ones,
 * up to date with what committed
 * ----------------------------------------------------------------
 */
extern void catz_refresh(void);

/*
 * Where shared refreshes stand, and catching up a scope before publishing:
 * with the rows committed since it was built or last caught up, that F
 * saw; *seen is refresh_started as of F.  Exclusive, it returns holding
 * the refresh slot, so that no writer applies and no refresh starts (and
 * the scope misses nothing) until catz_catch_up_done: the commits meanwhile
 * are left to the next refresh.
 */
extern uint64 catz_shared_quiet_point(CatzSharedDb *db);
extern void catz_catch_up(CatzScope *scope, CatzSharedDb *db, bool exclusive, uint64 *seen);
extern void catz_catch_up_done(CatzSharedDb *db);

/* This transaction bumped the reload epoch: drop what it cached */
extern void catz_own_epoch_bump(void);

/* Relcache and transaction callbacks; registered by catz_refresh_init */
extern void catz_refresh_init(void);

/* ----------------------------------------------------------------
 * Serving (serve.c): the scopes a match reads, shared when they can be,
 * built and published when missing or grown
 * ----------------------------------------------------------------
 */

/*
 * The shared scope of everyone (global) or of one owner, pinned: the cached
 * one, or one built and published now.  NULL when it cannot be shared: the
 * caller uses a backend-local scope; or, with *empty set (owners only),
 * when the owner has nothing of their own: no scope is published for them.
 */
extern CatzSharedScope *catz_serve_shared(CatzSharedDb *db, bool global, int64 owner_id,
										  bool *empty);

/* Rebuild a scope (a fold) and publish it: the worker's job */
extern void catz_serve_fold(CatzSharedDb *db, bool global, int64 owner_id);

/* ----------------------------------------------------------------
 * Owners with nothing of their own (empty_owners.c): those whose shared
 * scope a session of the database found empty need not be pinned while
 * the count of changes (read with catz_owner_changes() before looking)
 * stays the same.  catz_owner_changed() counts a change applied.
 * ----------------------------------------------------------------
 */
extern uint32 catz_owner_changes(CatzSharedDb *db, int64 owner_id);
extern void catz_owner_changed(CatzSharedDb *db, int64 owner_id);
extern bool catz_owner_known_empty(CatzSharedDb *db, int64 owner_id, uint32 changes);
extern void catz_note_owner_empty(CatzSharedDb *db, int64 owner_id, uint32 changes);
extern void catz_forget_empty_owners(void);
extern void catz_owner_prefetch(CatzSharedDb *db, int64 owner_id);

/* ----------------------------------------------------------------
 * Standby (standby.c): clear errors for writes to our tables on a standby
 * ----------------------------------------------------------------
 */
extern void catz_standby_install_hook(void);

#endif							/* CATZ_REFRESH_H */
