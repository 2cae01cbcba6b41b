/*-------------------------------------------------------------------------
 *
 * categorize.h
 *	  Declarations shared by the PostgreSQL glue of categorize: GUCs, the
 *	  engine's interface, statistics, and the pieces the SQL entry points,
 *	  triggers and learning use.
 *
 * The glue is a thin layer over the pure-C engine in src/core (catz_core.h):
 * it reads patterns and corrections with SPI, compiles them with the core,
 * keeps the compiled state fresh (refresh.c), and turns core status codes
 * into ereport()s.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CATEGORIZE_H
#define CATEGORIZE_H

#include "postgres.h"

#include "access/htup.h"
#include "access/tupdesc.h"
#include "executor/spi.h"
#include "catz_core.h"
#include "fmgr.h"
#include "utils/snapshot.h"

/* ----------------------------------------------------------------
 * GUCs (categorize.c)
 * ----------------------------------------------------------------
 */
typedef enum CatzLearningMode
{
	CATZ_LEARNING_OFF,
	CATZ_LEARNING_OWNER_ONLY,
	CATZ_LEARNING_ON
} CatzLearningMode;

extern bool catz_enabled;
extern double catz_min_confidence;
extern int	catz_promote_min_users;
extern int	catz_learning;
extern int	catz_backend_cache_kb;
extern int	catz_rollout_percent;
extern bool catz_recategorizing;
extern int	catz_test_build_lock;

/* True when the library was loaded by shared_preload_libraries */
extern bool catz_preloaded;

/* Say once per backend how to enable the shared mode */
extern void catz_warn_not_preloaded(void);

/* Map a core status to an ereport(ERROR) with context */
extern void catz_report_status(CatzStatus status, const char *what) pg_attribute_noreturn();

/* A CatzAllocator over palloc in the current memory context */
extern const CatzAllocator catz_palloc_allocator;

/* ----------------------------------------------------------------
 * Expenses (expense.c)
 * ----------------------------------------------------------------
 */

/* An expense as the engine sees it; absent fields have has_* false */
typedef struct CatzExpense
{
	const char *merchant;		/* raw merchant name, not NUL-terminated */
	int			merchant_len;
	const char *description;	/* raw description, not NUL-terminated */
	int			description_len;
	bool		has_merchant;
	bool		has_description;
	bool		has_amount;
	bool		has_user;
	bool		has_expense_id;
	double		amount;
	Datum		amount_numeric; /* the amount as numeric, when it was one */
	bool		has_amount_numeric;
	int64		user_id;
	int64		expense_id;		/* the row's id field, for learning */
} CatzExpense;

/* Read an expense from a row of any type (fields looked up by name, cached per row type in fcinfo) */
extern void catz_expense_from_record(FunctionCallInfo fcinfo, HeapTupleHeader rec,
									 CatzExpense *out);

/* The same, with the layout cached in *cache (in fn_mcxt) instead of fn_extra */
extern void catz_expense_from_record_cached(FunctionCallInfo fcinfo, void **cache,
											HeapTupleHeader rec, CatzExpense *out);

/* Read an expense from a table row (triggers) */
extern void catz_expense_from_tuple(FunctionCallInfo fcinfo, HeapTuple tuple, TupleDesc desc,
									CatzExpense *out);

/* Read an expense from the value arguments merchant, description, amount, user_id */
extern void catz_expense_from_values(FunctionCallInfo fcinfo, CatzExpense *out);

/*
 * spi_guard.c: SPI as the extension's owner with search_path = pg_catalog,
 * pg_temp; what catz_spi_finish() restores
 */
typedef struct CatzSpi
{
	int			nestlevel;
	Oid			save_user;
	int			save_sec_context;
} CatzSpi;

extern CatzSpi catz_spi_connect(void);
extern void catz_spi_finish(CatzSpi spi);
extern SPIPlanPtr catz_spi_prepare_kept(SPIPlanPtr *plan, const char *sql, int nargs,
										Oid *argtypes, int cursor_options);

/* ratelimit.c: categorize.max_corrections_per_minute, per owner */
extern int	catz_max_corrections_per_minute;
extern Size catz_ratelimit_shmem_size(void);
extern void catz_ratelimit_shmem_init(void);
extern void catz_ratelimit_take(bool has_owner, int64 owner);	/* error 53400 */

/* standby.c: clear errors for writes to our tables on a standby */
extern void catz_standby_install_hook(void);

/* Check that a regex pattern compiles (error 2201B if not) */
extern void catz_validate_regex(const char *pattern, int len);

/* Room to normalize len bytes; error 54000 if beyond what palloc can give */
extern size_t catz_normalize_capacity(size_t len);

/* Normalize text into a palloc'd NUL-terminated string */
extern char *catz_normalize_cstring(const char *text, int len, int *outlen);

/* Convert a numeric Datum to double; false for NaN */
extern bool catz_numeric_to_double(Datum num, double *out);

/* ----------------------------------------------------------------
 * The engine (engine.c)
 * ----------------------------------------------------------------
 */
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
 * decision (a hit of the deciding pattern) when count_decision.  The
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

/* Match a previewed rule (a one-pattern set) as if it existed; NULL to stop */
extern void catz_engine_set_extra(const CatzSet *rule);

/* Count a categorization decided by the top candidate (pattern hits) */
extern void catz_engine_count_decision(const CatzResult *res);

/* ----------------------------------------------------------------
 * decisions.c: how many times each pattern was the engine's answer
 * ----------------------------------------------------------------
 */
typedef struct CatzDecisions
{
	int64		decisions;		/* committed, since the server started */
	int64		confirmed;		/* the pattern's confirmed value when ... */
	int64		since;			/* ... these decisions started counting */
} CatzDecisions;

/* The committed counts of n patterns (zeros for unknown ones) */
extern void catz_decisions_get(int n, const int64 *pattern_ids, CatzDecisions *out);

/* The committed decisions of one pattern */
extern int64 catz_decisions_of(int64 pattern_id);

/* Count one decision of this transaction (pending until commit) */
extern void catz_decisions_count(int64 pattern_id, int64 confirmed);

/* Commit or abort: make this transaction's decisions count, or forget them */
extern void catz_decisions_end_xact(bool commit);

/* ----------------------------------------------------------------
 * Freshness of the compiled state (refresh.c)
 * ----------------------------------------------------------------
 */

/* A copy of an MVCC snapshot with 64-bit transaction ids */
typedef struct CatzSnapshot
{
	bool		valid;
	uint64		xmin;
	uint64		xmax;
	int			nxip;
	uint64	   *xip;			/* sorted: running top-level and sub xids */
} CatzSnapshot;

/* Whether a row stamped by full transaction id xid is visible in snap */
extern bool catz_snapshot_sees(const CatzSnapshot *snap, uint64 xid);

/* Copy an MVCC snapshot into cxt; false if it cannot be trusted */
extern bool catz_snapshot_copy(Snapshot snap, MemoryContext cxt, CatzSnapshot *out);

/* Relation ids of the extension's tables, looked up when stale */
typedef struct CatzRelids
{
	Oid			namespace;
	Oid			categories;
	Oid			patterns;
	Oid			corrections;
	Oid			tombstones;
	Oid			epoch;
	Oid			signal;			/* change_signal (1.1), or InvalidOid */
} CatzRelids;

/* Tell every backend (at commit) that the compiled state changed */
extern void catz_signal_change(void);

/* Note that this transaction wrote patterns or corrections */
extern void catz_note_own_write(void);

/* True if this transaction wrote patterns or corrections */
extern bool catz_xact_wrote(void);

/* Top-level full transaction id of this transaction, or 0 if none */
extern uint64 catz_own_fxid(void);

/* Add our own xid to a saved snapshot, so our rows count as unseen */
extern void catz_snapshot_add_xid(CatzSnapshot *snap, uint64 xid, MemoryContext cxt);

/* This transaction bumped the reload epoch: drop what it cached */
extern void catz_own_epoch_bump(void);

/* Relcache callback and transaction callbacks (registered in _PG_init) */
extern void catz_relcache_callback(Datum arg, Oid relid);
extern void catz_xact_callback(int event, void *arg);
extern void catz_subxact_callback(int event, SubTransactionId mySubid,
								  SubTransactionId parentSubid, void *arg);

/* ----------------------------------------------------------------
 * Statistics (stats.c)
 * ----------------------------------------------------------------
 */
extern Size catz_stats_shmem_size(void);
extern void catz_stats_shmem_init(void *place, bool found);

/* Count one categorize() call: categorized or not, and its latency */
extern void catz_stats_count_call(bool categorized, double elapsed_us);

/* Count an accepted correction (added to the counters at commit) */
extern void catz_stats_count_correction(void);

/* Commit or abort: apply or forget the pending correction count */
extern void catz_stats_end_xact(bool commit);

/* ----------------------------------------------------------------
 * Shared memory (shmem.c)
 * ----------------------------------------------------------------
 */
extern void catz_shmem_request(void);
extern void catz_shmem_startup(void);

#endif							/* CATEGORIZE_H */
