/*-------------------------------------------------------------------------
 *
 * base.h
 *	  The base layer of the PostgreSQL glue: what every layer above may use
 *	  and which calls nothing above it.  Transaction and snapshot state
 *	  (xact_state.c), the extension's tables (xact_state.c), decoding of
 *	  expense and pattern rows (expense.c, rows.c), text (text.c), errors
 *	  and allocation (errors.c), and SPI as the extension's owner
 *	  (spi_guard.c).
 *
 * Layers, top to bottom, each calling only those below it:
 *	  api/ (SQL entry points, _PG_init) -> worker/ -> engine/ -> refresh/
 *	  -> store/ -> shmem/ -> base/, over the pure-C core in src/core.
 *	  tools/check_layers.py checks it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CATZ_BASE_H
#define CATZ_BASE_H

#include "postgres.h"

#include "access/htup.h"
#include "access/tupdesc.h"
#include "executor/spi.h"
#include "catz_core.h"
#include "fmgr.h"
#include "utils/snapshot.h"

/* Start loading the cache line at an address that a call reads soon */
#if defined(__GNUC__) || defined(__clang__)
#define catz_prefetch(addr) __builtin_prefetch(addr)
#else
#define catz_prefetch(addr) ((void) (addr))
#endif

/* ----------------------------------------------------------------
 * Errors and allocation (errors.c)
 * ----------------------------------------------------------------
 */

/* True when the library was loaded by shared_preload_libraries */
extern bool catz_preloaded;

/* Say once per backend how to enable the shared mode */
extern void catz_warn_not_preloaded(void);

/* Map a core status to an ereport(ERROR) with context */
extern void catz_report_status(CatzStatus status, const char *what) pg_attribute_noreturn();

/* A CatzAllocator over palloc in the current memory context */
extern const CatzAllocator catz_palloc_allocator;

/* A CatzAllocator that allocates in cxt */
extern CatzAllocator catz_allocator_in(MemoryContext cxt);

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

/* The same, with the statement's layout remembered in *cache instead of fn_extra */
extern void catz_expense_from_record_cached(void **cache, HeapTupleHeader rec,
											CatzExpense *out);

/* Read an expense from a table row (triggers) */
extern void catz_expense_from_tuple(FunctionCallInfo fcinfo, HeapTuple tuple, TupleDesc desc,
									CatzExpense *out);

/* Read an expense from the value arguments merchant, description, amount, user_id */
extern void catz_expense_from_values(FunctionCallInfo fcinfo, CatzExpense *out);

/* Convert a numeric Datum to double; false for NaN */
extern bool catz_numeric_to_double(Datum num, double *out);

/* ----------------------------------------------------------------
 * SPI (spi_guard.c): as the extension's owner with search_path =
 * pg_catalog, pg_temp; what catz_spi_finish() restores
 * ----------------------------------------------------------------
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

/*
 * Run a kept statement (prepared on first use, as by catz_spi_prepare_kept)
 * that writes; ERROR unless SPI returns expect; the rows it processed
 */
extern uint64 catz_spi_run_kept(SPIPlanPtr *plan, const char *sql, int nargs, Oid *argtypes,
								int cursor_options, Datum *args, const char *nulls, int expect);

/* ----------------------------------------------------------------
 * Text (text.c)
 * ----------------------------------------------------------------
 */

/* Check that a regex pattern compiles (error 2201B if not) */
extern void catz_validate_regex(const char *pattern, int len);

/* Room to normalize len bytes; error 54000 if beyond what palloc can give */
extern size_t catz_normalize_capacity(size_t len);

/* Normalize text into a palloc'd NUL-terminated string */
extern char *catz_normalize_cstring(const char *text, int len, int *outlen);

/* ----------------------------------------------------------------
 * Pattern and correction rows (rows.c)
 * ----------------------------------------------------------------
 */

/*
 * Readers of categorize.patterns select every column and decode the row by
 * column name (catz_pattern_columns once per result, then
 * catz_pattern_from_row): a library newer than the extension's tables (a
 * database not yet at ALTER EXTENSION UPDATE) reads what the table has, and
 * a kept plan picks up the new columns once the update adds them.
 */
#define PATTERN_COLUMNS "*"

/* Where the decoded fields are in a result's rows (0: not there) */
#define CATZ_PATTERN_NFIELDS 19
typedef struct CatzPatternColumns
{
	int			attnum[CATZ_PATTERN_NFIELDS];
	int			xid_attnum;		/* change_xid */
	int			owner_attnum;	/* owner_id */
} CatzPatternColumns;

/* Find the columns in a result's row descriptor; ERROR if one is missing */
extern void catz_pattern_columns(TupleDesc desc, CatzPatternColumns *cols);

/* Column col (1-based) of an SPI row: false (NULL) when NULL; text is
 * copied into the current context */
extern bool catz_col_int64(HeapTuple tup, TupleDesc desc, int col, int64 *out);

/* Whether column attnum differs between two versions of a row */
extern bool catz_column_changed(HeapTuple before, HeapTuple after, TupleDesc desc, int attnum);
extern char *catz_col_text(HeapTuple tup, TupleDesc desc, int col, int *len);

/* Decode a row of categorize.patterns into core input; *active too */
extern void catz_pattern_from_row(HeapTuple tup, TupleDesc desc, const CatzPatternColumns *cols,
								  CatzPatternInput *p, bool *active);
/* The full transaction id in column col of a row, 0 when NULL */
extern uint64 catz_row_xid(HeapTuple tup, TupleDesc desc, int col);
/* Decode a categorize.patterns table row (triggers) into core input */
extern void catz_pattern_from_tuple(HeapTuple tup, TupleDesc desc, CatzPatternInput *p,
									bool *active);

/*
 * A correction row's (merchant_name, description, to_category_id) at
 * columns first_col.. and its amount (float8) at column amount_col as a
 * model document; its features go to features[] (room for
 * CATZ_MAX_FEATURES)
 */
extern uint32 catz_doc_from_row(HeapTuple tup, TupleDesc desc, int first_col, int amount_col,
								CatzModelDoc *doc, uint64 *features);
/*
 * A row of categorize.corrections as the table holds it (triggers, index
 * scans; columns found by name): whether it teaches the token model
 * (learn_scope 'all' or 'owner'), and then its owner (*has_owner false:
 * nobody's) and its document, the amount taken as catz_numeric_to_double()
 * takes it
 */
extern bool catz_correction_doc(HeapTuple tup, TupleDesc desc, bool *has_owner, int64 *owner,
								CatzModelDoc *doc, uint64 *features);

/*
 * The token model's features of an expense: its normalized merchant name
 * and description, and its amount (a model document's and a query's alike)
 */
extern uint32 catz_expense_features(const char *m, int mlen, const char *d, int dlen,
									bool has_amount, double amount,
									uint64 *features, uint32 cap);

/* Features of a correction's texts (normalized here) and amount */
extern uint32 catz_doc_features(const char *merchant, int mlen,
								const char *description, int dlen,
								bool has_amount, double amount,
								uint64 *features, uint32 cap);

/* ----------------------------------------------------------------
 * Transaction and snapshot state (xact_state.c)
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
	int			nseen;
	const uint64 *seen;			/* xids >= xmax whose rows count as seen
								 * (writers that applied their own commit) */
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
	Oid			feedback;		/* pattern_feedback (1.3), or InvalidOid */
} CatzRelids;

/* Tell every backend (at commit) that the compiled state changed */
extern void catz_signal_change(void);

/* True if this transaction queued that signal */
extern bool catz_xact_signalled(void);

/* The tables of ours a transaction wrote (catz_note_own_write()) */
#define CATZ_WROTE_PATTERNS		0x1
#define CATZ_WROTE_TOMBSTONES	0x2
#define CATZ_WROTE_CORRECTIONS	0x4
#define CATZ_WROTE_ALL			0x7

/* Note that this transaction wrote patterns or corrections (in tables) */
extern void catz_note_own_write(uint32 tables);

/*
 * The tables this transaction wrote (CATZ_WROTE_*), as far as the triggers
 * saw: a subtransaction rolled back leaves its bits (a read finds nothing)
 */
extern uint32 catz_xact_tables_written(void);

/* True if this transaction wrote patterns or corrections */
extern bool catz_xact_wrote(void);

/* Rows of patterns or corrections this transaction wrote (trigger calls) */
extern uint64 catz_xact_writes(void);

/* Top-level full transaction id of this transaction, or 0 if none */
extern uint64 catz_own_fxid(void);

/* Add our own xid to a saved snapshot, so our rows count as unseen */
extern void catz_snapshot_add_xid(CatzSnapshot *snap, uint64 xid, MemoryContext cxt);



/* True, once, when the known tables were dropped (they are forgotten) */
extern bool catz_relids_recheck(void);

/* Whether relid may be one of the extension's tables (or is unknown) */
extern bool catz_relids_may_be_ours(Oid relid);

/* Snapshot to read the extension's tables with, fresh where allowed */
extern Snapshot catz_fresh_snapshot(void);

/* The extension's tables (error 55000 when it is not installed) */
extern const CatzRelids *catz_relids(void);

/* Writes of this transaction so far: changes whenever it writes */
extern uint64 catz_own_writes(void);

/* The transaction ended: forget that it wrote */
extern void catz_xact_state_end(void);

#endif							/* CATZ_BASE_H */
