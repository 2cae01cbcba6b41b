/*-------------------------------------------------------------------------
 *
 * changes.h
 *	  Reading the rows that changed since a snapshot (changes.c), for the
 *	  refresh of cached scopes and for catching up a scope being published.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CATEGORIZE_CHANGES_H
#define CATEGORIZE_CHANGES_H

#include "categorize.h"

/* What to read: rows changed after `since`, read under `snap` */
typedef struct CatzChangeRead
{
	const CatzSnapshot *since;	/* F: rows it saw are skipped */
	Snapshot	snap;			/* the snapshot to read with */
	uint64		own;			/* our own xid (skipped), or 0 */
} CatzChangeRead;

/* Where the rows go; every callback gets the row's owner and xid */
typedef struct CatzChangeSink
{
	void		(*pattern) (void *arg, bool has_owner, int64 owner, uint64 xid,
							const CatzPatternInput *p, bool active);
	void		(*tombstone) (void *arg, bool has_owner, int64 owner, uint64 xid,
							  int64 pattern_id);
	void		(*doc) (void *arg, bool has_owner, int64 owner, uint64 xid,
						const CatzModelDoc *doc);
} CatzChangeSink;

/*
 * Read the changes after r->since and pass them to the sink (inside SPI,
 * which the caller has connected).  Returns false without reading further
 * when the reload epoch changed: everything cached must be dropped.
 */
extern bool catz_changes_read(const CatzChangeRead *r, const CatzChangeSink *sink, void *arg);

/* Read the rows this transaction (xid own) wrote and still has */
extern void catz_changes_read_own(uint64 own, const CatzChangeSink *sink, void *arg);

/* Forget prepared queries (the tables may have been recreated) */
extern void catz_changes_forget_plans(void);

#endif							/* CATEGORIZE_CHANGES_H */
