/*-------------------------------------------------------------------------
 *
 * decisions_file.c
 *	  Keep the shared decision counts across restarts and crashes.
 *
 * How often each pattern was the engine's answer (decisions.c) shapes
 * confidences, and so answers.  The counts live in shared memory, which a
 * restart or a crash wipes; they are saved to DECISIONS_FILE in the data
 * directory:
 *	- by the categorize worker every categorize.decisions_save_interval;
 *	- by the postmaster when it shuts down cleanly.
 * Shared memory setup (at server start and after a crash) loads the file,
 * so a crash loses at most the counts of the last interval.  The file is
 * written to a temporary name, fsynced and renamed, so it is always whole.
 *
 * Each database's counts belong to one instance of the extension (the
 * relid of its patterns table, CatzSharedDb.patterns_relid): the file
 * keeps it, and loading claims the database's slot for it, so that the
 * counts survive the first backend's bind and go only if the extension
 * was dropped and created again.
 *
 * The decisions not yet folded into categorize.pattern_usage by the worker
 * are kept only by the postmaster's save at a clean shutdown, and the file
 * is written again without them as soon as they are loaded: a crash after
 * the worker folded them cannot fold them twice (a crash before loses at
 * most one round of the worker's folds, as it loses the counts of the last
 * save interval).
 *
 * The counts are usage statistics, like pg_stat_statements' counters: a
 * standby keeps its own, and pg_dump does not carry them (it carries
 * categorize.pattern_usage, the durable usage per rule).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <unistd.h>

#include "miscadmin.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "utils/hsearch.h"
#include "utils/timestamp.h"

#include "shmem/shmem.h"

#define DECISIONS_FILE		"pg_stat/categorize_decisions.stat"
#define DECISIONS_FILE_TMP	DECISIONS_FILE ".tmp"
#define DECISIONS_MAGIC_V1	0x43445a31	/* "CDZ1": before pattern_usage */
#define DECISIONS_MAGIC		0x43445a32	/* "CDZ2" */

/* A database's binding, as saved */
typedef struct SavedDb
{
	Oid			dboid;
	Oid			patterns_relid;
} SavedDb;

/* One pattern's counts, as saved */
typedef struct SavedDecision
{
	Oid			dboid;
	int64		pattern_id;
	int64		decisions;
	int64		confirmed;
	int64		since;
	int64		unfolded;
	TimestampTz last_at;
} SavedDecision;

/* One pattern's counts, as version 1 of the file saved them */
typedef struct SavedDecisionV1
{
	Oid			dboid;
	int64		pattern_id;
	int64		decisions;
	int64		confirmed;
	int64		since;
} SavedDecisionV1;

int			catz_decisions_save_interval_s = 10;

/* Write all of buf to f; false on error */
static bool
write_all(FILE *f, const void *buf, size_t len)
{
	return len == 0 || fwrite(buf, 1, len, f) == len;
}

/* Write the file; with the decisions not folded yet when keep_unfolded */
static void
save(bool keep_unfolded)
{
	/* The postmaster saves at shutdown, alone and without a PGPROC: no locks */
	bool		lock = IsUnderPostmaster;
	SavedDb		dbs[CATZ_MAX_DATABASES];
	uint32		ndbs = 0;
	SavedDecision *entries;
	uint64		nentries = 0;
	uint64		cap;
	HASH_SEQ_STATUS status;
	CatzDecisionEntry *e;
	FILE	   *f;
	uint32		header[2] = {DECISIONS_MAGIC, 0};
	int			i;

	if (catz_shared == NULL || catz_decisions == NULL)
		return;

	if (lock)
		LWLockAcquire(catz_shared->lock, LW_SHARED);
	for (i = 0; i < CATZ_MAX_DATABASES; i++)
		if (OidIsValid(catz_shared->dbs[i].dboid) && OidIsValid(catz_shared->dbs[i].patterns_relid))
		{
			dbs[ndbs].dboid = catz_shared->dbs[i].dboid;
			dbs[ndbs].patterns_relid = catz_shared->dbs[i].patterns_relid;
			ndbs++;
		}
	if (lock)
	{
		LWLockRelease(catz_shared->lock);
		LWLockAcquire(catz_shared->decision_lock, LW_SHARED);
	}
	cap = hash_get_num_entries(catz_decisions);
	entries = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(SavedDecision) * (cap ? cap : 1));
	hash_seq_init(&status, catz_decisions);
	while ((e = hash_seq_search(&status)) != NULL)
	{
		if (nentries == cap)
		{
			hash_seq_term(&status);
			break;
		}
		entries[nentries].dboid = e->key.dboid;
		entries[nentries].pattern_id = e->key.pattern_id;
		entries[nentries].decisions = e->decisions;
		entries[nentries].confirmed = e->confirmed;
		entries[nentries].since = e->since;
		entries[nentries].unfolded = keep_unfolded ? e->unfolded : 0;
		entries[nentries].last_at = e->last_at;
		nentries++;
	}
	if (lock)
		LWLockRelease(catz_shared->decision_lock);

	header[1] = ndbs;
	f = AllocateFile(DECISIONS_FILE_TMP, PG_BINARY_W);
	if (f == NULL ||
		!write_all(f, header, sizeof(header)) ||
		!write_all(f, dbs, sizeof(SavedDb) * ndbs) ||
		!write_all(f, &nentries, sizeof(nentries)) ||
		!write_all(f, entries, sizeof(SavedDecision) * nentries) ||
		fflush(f) != 0 || pg_fsync(fileno(f)) != 0)
	{
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("categorize: could not write \"%s\": %m", DECISIONS_FILE_TMP)));
		if (f)
			FreeFile(f);
		unlink(DECISIONS_FILE_TMP);
		pfree(entries);
		return;
	}
	FreeFile(f);
	pfree(entries);
	(void) durable_rename(DECISIONS_FILE_TMP, DECISIONS_FILE, LOG);
}

void
catz_decisions_save(void)
{
	/* only the postmaster's save at shutdown: no fold can follow it */
	save(!IsUnderPostmaster);
}

/* Read exactly len bytes; false on a short file */
static bool
read_all(FILE *f, void *buf, size_t len)
{
	return len == 0 || fread(buf, 1, len, f) == len;
}

void
catz_decisions_load(void)
{
	FILE	   *f;
	uint32		header[2];
	SavedDb		dbs[CATZ_MAX_DATABASES];
	uint64		nentries;
	uint64		i;
	uint32		d;
	int			slot = 0;
	bool		v1;
	bool		any_unfolded = false;

	f = AllocateFile(DECISIONS_FILE, PG_BINARY_R);
	if (f == NULL)
	{
		if (errno != ENOENT)
			ereport(LOG,
					(errcode_for_file_access(),
					 errmsg("categorize: could not read \"%s\": %m", DECISIONS_FILE)));
		return;
	}
	if (!read_all(f, header, sizeof(header)) ||
		(header[0] != DECISIONS_MAGIC && header[0] != DECISIONS_MAGIC_V1) ||
		header[1] > CATZ_MAX_DATABASES ||
		!read_all(f, dbs, sizeof(SavedDb) * header[1]) ||
		!read_all(f, &nentries, sizeof(nentries)))
		goto bad;
	v1 = header[0] == DECISIONS_MAGIC_V1;

	/* Claim the databases' slots for the saved instances */
	for (d = 0; d < header[1]; d++)
	{
		CatzSharedDb *db = &catz_shared->dbs[slot++];

		db->dboid = dbs[d].dboid;
		db->patterns_relid = dbs[d].patterns_relid;
	}

	for (i = 0; i < nentries; i++)
	{
		SavedDecision s;
		CatzDecisionKey key;
		CatzDecisionEntry *e;
		bool		found;

		if (v1)
		{
			SavedDecisionV1 old;

			if (!read_all(f, &old, sizeof(old)))
				goto bad;
			memset(&s, 0, sizeof(s));
			s.dboid = old.dboid;
			s.pattern_id = old.pattern_id;
			s.decisions = old.decisions;
			s.confirmed = old.confirmed;
			s.since = old.since;
		}
		else if (!read_all(f, &s, sizeof(s)))
			goto bad;
		memset(&key, 0, sizeof(key));
		key.dboid = s.dboid;
		key.pattern_id = s.pattern_id;
		e = hash_search(catz_decisions, &key, HASH_ENTER_NULL, &found);
		if (e == NULL)
			break;				/* categorize.max_tracked_patterns shrank */
		e->decisions = s.decisions;
		e->confirmed = s.confirmed;
		e->since = s.since;
		e->unfolded = s.unfolded;
		e->last_at = s.last_at;
		any_unfolded |= s.unfolded > 0;
	}
	FreeFile(f);
	if (any_unfolded)
		save(false);
	return;

bad:
	ereport(LOG,
			(errmsg("categorize: ignoring \"%s\": it is not a file of decision counts this version wrote",
					DECISIONS_FILE)));
	FreeFile(f);
}

/* on_shmem_exit in the postmaster: save at a clean shutdown */
static void
save_at_shutdown(int code, Datum arg)
{
	/* After a crash (code != 0) shared memory may be inconsistent: keep the last file */
	if (code == 0)
		catz_decisions_save();
}

/* Load the saved counts when the segment is created, save them at shutdown */
static void
decisions_file_startup(bool fresh)
{
	if (fresh)
		catz_decisions_load();
	if (!IsUnderPostmaster)
		on_shmem_exit(save_at_shutdown, (Datum) 0);
}

void
catz_decisions_file_init(void)
{
	catz_shmem_add_part(NULL, decisions_file_startup);
	DefineCustomIntVariable("categorize.decisions_save_interval",
							"Time between saves of the pattern decision counts to disk by the categorize worker.",
							"The counts shape confidences; a crash loses at most this much of them. 0 saves only at shutdown.",
							&catz_decisions_save_interval_s,
							10,
							0, 86400,
							PGC_SIGHUP,
							GUC_UNIT_S,
							NULL, NULL, NULL);
}
