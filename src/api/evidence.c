/*-------------------------------------------------------------------------
 *
 * evidence.c
 *	  What a taught category does to the learned patterns: the one body of
 *	  learning that learn_correction() (one row) and learn_from() (a batch
 *	  of a table's rows, in date order) share, so that learning a history
 *	  in bulk leaves the patterns that correcting it row by row would.
 *
 * A row teaches "owner o files merchant key k under category c" (with its
 * amount, when it has one).  For each (o, k) the learned merchant pattern
 * of each category keeps (categorize.patterns):
 *	taught			the corrections that named this category;
 *	weight			the same, each worth CATZ_WORD_DECAY to the power of the
 *					owner's later corrections of k (of any category);
 *	amount_weight	the part of weight that came with an amount;
 *	log_amount		their weighted mean ln|amount|.
 * The engine reads these to keep the user's word (catz_mark_word()).
 *
 * weight is kept as of weight_at, the owner's corrections of k when it was
 * last updated; a reader brings it to now, when the owner has corrected k
 * E times (the taught of all of k's patterns), as weight * DECAY^(E -
 * weight_at).  So a correction writes one row: the other categories of k
 * need no update.
 *
 * A batch of n rows is applied in two statements, whatever n:
 *	1. each (o, k, c) of the batch is inserted or updated with its rows'
 *	   decayed sums (the i-th of m rows of (o, k) is worth DECAY^(m - i)),
 *	   its confirmed order following the batch's order;
 *	2. promotion: a (k, c) that promote_min_users owners now share, in a
 *	   category everyone can use, gets a learned pattern for everyone,
 *	   its evidence (hits, taught, weight) the number of those owners.
 * Row by row or in one batch, the result is the same up to rounding.
 * Two sessions teaching the same owner and merchant at once both read the
 * owner's corrections before either commits: no count is lost (taught and
 * weight are added under the row lock of ON CONFLICT), only the recency of
 * one of the two corrections is off by one step.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "api/api.h"
#include "base/base.h"

/* Kept plans */
static SPIPlanPtr plan_upsert = NULL;
static SPIPlanPtr plan_promote = NULL;

/* The decay of one correction, as SQL text */
#define DECAY_SQL CppAsString2(CATZ_WORD_DECAY)

/* The learned merchant pattern's key, as ON CONFLICT names it */
#define LEARNED_KEY \
"ON CONFLICT (owner_id, value_norm, category_id)" \
"   WHERE source = 'learned' AND kind = 'merchant' AND amount_min IS NULL AND amount_max IS NULL "

/* The columns a teaching statement inserts */
#define UPSERT_COLUMNS \
"INSERT INTO categorize.patterns AS p (owner_id, kind, value, category_id, source, hits," \
"                                      confirmed, taught, weight, weight_at, amount_weight," \
"                                      log_amount)"

/* How new evidence (excluded) joins a learned pattern's own, decayed to now */
#define UPSERT_MERGE LEARNED_KEY \
"DO UPDATE SET hits = p.hits + excluded.taught, taught = p.taught + excluded.taught," \
"              active = true, confirmed = excluded.confirmed," \
"              weight = p.weight * pg_catalog.power(" DECAY_SQL "," \
"                           greatest(excluded.weight_at - p.weight_at, 0)) + excluded.weight," \
"              amount_weight = p.amount_weight * pg_catalog.power(" DECAY_SQL "," \
"                           greatest(excluded.weight_at - p.weight_at, 0)) + excluded.amount_weight," \
"              weight_at = excluded.weight_at," \
"              log_amount = CASE WHEN excluded.amount_weight > 0" \
"                   THEN (coalesce(p.log_amount, 0) * p.amount_weight * pg_catalog.power(" DECAY_SQL "," \
"                             greatest(excluded.weight_at - p.weight_at, 0))" \
"                         + excluded.log_amount * excluded.amount_weight)" \
"                        / (p.amount_weight * pg_catalog.power(" DECAY_SQL "," \
"                             greatest(excluded.weight_at - p.weight_at, 0))" \
"                           + excluded.amount_weight)" \
"                   ELSE p.log_amount END"

/*
 * The sum of taught of a merchant key's learned patterns of one owner
 * (owner: a condition on q.owner_id that the learned key's index can use)
 */
#define TAUGHT_BEFORE(owner, k) \
"coalesce((SELECT sum(q.taught) FROM categorize.patterns q" \
"           WHERE q.value_norm = " k " AND " owner " AND q.active" \
"             AND q.source = 'learned' AND q.kind = 'merchant'" \
"             AND q.amount_min IS NULL AND q.amount_max IS NULL), 0)"

static const char upsert_sql[] =
"WITH t AS ("
"  SELECT u.o, u.k, u.c, u.a, u.ord, count(*) OVER w AS n_key,"
"         pg_catalog.power(" DECAY_SQL ", count(*) OVER w - row_number() OVER (w ORDER BY u.ord)) AS d"
"    FROM unnest($1::int8[], $2::text[], $3::int8[], $4::float8[]) WITH ORDINALITY u(o, k, c, a, ord)"
"  WINDOW w AS (PARTITION BY u.o, u.k)"
"), agg AS ("
"  SELECT o, k, c, count(*) AS taught, sum(d) AS w, max(n_key) AS n_key,"
"         coalesce(sum(d) FILTER (WHERE a IS NOT NULL), 0) AS aw,"
"         sum(d * pg_catalog.ln(abs(a) + 1e-9)) FILTER (WHERE a IS NOT NULL) AS la,"
"         max(ord) AS last"
"    FROM t GROUP BY o, k, c"
"), before AS ("
"  SELECT q.owner_id IS NULL AS nobody, coalesce(q.owner_id, 0) AS o, q.value_norm AS k,"
"         sum(q.taught) AS taught"
"    FROM categorize.patterns q"
"   WHERE q.value_norm = ANY ($2) AND q.active"
"     AND q.source = 'learned' AND q.kind = 'merchant'"
"     AND q.amount_min IS NULL AND q.amount_max IS NULL"
"   GROUP BY 1, 2, 3"
") "
UPSERT_COLUMNS
"SELECT agg.o, 'merchant', agg.k, agg.c, 'learned', agg.taught,"
"       pg_catalog.nextval('categorize.confirmation_seq'), agg.taught, agg.w,"
"       agg.n_key + coalesce(b.taught, 0), agg.aw, agg.la / nullif(agg.aw, 0)"
"  FROM agg LEFT JOIN before b"
"    ON b.nobody = (agg.o IS NULL) AND b.o = coalesce(agg.o, 0) AND b.k = agg.k "
"ORDER BY agg.last "
UPSERT_MERGE;

static const char promote_sql[] =
"INSERT INTO categorize.patterns AS p (owner_id, kind, value, category_id, source, hits,"
"                                      confirmed, taught, weight, weight_at)"
"SELECT NULL, 'merchant', s.k, s.c, 'learned', s.owners,"
"       pg_catalog.nextval('categorize.confirmation_seq'), s.owners, s.owners,"
"       s.owners + " TAUGHT_BEFORE("q.owner_id IS NULL", "s.k")
"  FROM (SELECT t.k, t.c,"
"               (SELECT count(DISTINCT q.owner_id) FROM categorize.patterns q"
"                 WHERE q.source = 'learned' AND q.kind = 'merchant' AND q.amount_min IS NULL"
"                   AND q.amount_max IS NULL AND q.value_norm = t.k AND q.category_id = t.c"
"                   AND q.active) AS owners"
"          FROM (SELECT DISTINCT u.k, u.c"
"                  FROM unnest($1::int8[], $2::text[], $3::int8[]) u(o, k, c)"
"                  JOIN categorize.categories cat ON cat.id = u.c AND cat.owner_id IS NULL"
"                 WHERE u.o IS NOT NULL) t) s"
" WHERE s.owners >= $4 "
LEARNED_KEY "DO NOTHING";

/*
 * The same two statements for one row ($1 owner, $2 key, $3 category, $4
 * amount, $5 weight_at: 1 + the owner's corrections of the key so far):
 * what the batch form computes for n = 1 (d = 1, taught 1, the amount's own
 * logarithm), without the unnest, window and join that cost more to start
 * than to run for a single correction.  What they read of the learned
 * patterns is read by index beforehand (learned_keys.c); promotion runs
 * only when it is due.
 */
static SPIPlanPtr plan_upsert_one = NULL;
static SPIPlanPtr plan_insert_one = NULL;
static SPIPlanPtr plan_promote_one = NULL;

#define TEACH_ONE_ROW \
UPSERT_COLUMNS \
"SELECT $1, 'merchant', $2, $3, 'learned', 1," \
"       pg_catalog.nextval('categorize.confirmation_seq'), 1, 1, $5," \
"       CASE WHEN $4 IS NULL THEN 0 ELSE 1 END, pg_catalog.ln(abs($4) + 1e-9) "

static const char upsert_one_sql[] = TEACH_ONE_ROW UPSERT_MERGE;

/*
 * The same for a key the owner never taught this category: the row is
 * new, unless another session inserted it since (then it is merged).  A
 * statement without the merge's update starts up in less time (its SET
 * list is most of a one-row upsert's executor start-up).
 */
static const char insert_one_sql[] = TEACH_ONE_ROW LEARNED_KEY "DO NOTHING";

/*
 * Promotion of ($1 key, $2 category), once due: its evidence is the number
 * of owners who taught it (each learned pattern of it is one owner's: the
 * learned key is unique)
 */
static const char promote_one_sql[] =
"INSERT INTO categorize.patterns AS p (owner_id, kind, value, category_id, source, hits,"
"                                      confirmed, taught, weight, weight_at)"
"SELECT NULL, 'merchant', $1, $2, 'learned', s.owners,"
"       pg_catalog.nextval('categorize.confirmation_seq'), s.owners, s.owners,"
"       s.owners + " TAUGHT_BEFORE("q.owner_id IS NULL", "$1")
"  FROM (SELECT count(*) AS owners FROM categorize.patterns q"
"         WHERE q.source = 'learned' AND q.kind = 'merchant' AND q.amount_min IS NULL"
"           AND q.amount_max IS NULL AND q.value_norm = $1 AND q.category_id = $2"
"           AND q.owner_id IS NOT NULL AND q.active) s"
" WHERE EXISTS (SELECT 1 FROM categorize.categories cat WHERE cat.id = $2 AND cat.owner_id IS NULL) "
LEARNED_KEY "DO NOTHING";

/*
 * The same for a database whose extension is older than this library (not
 * yet at ALTER EXTENSION UPDATE: categorize.patterns has no evidence
 * columns): what 1.1 did, a hit per correction and the latest confirmed.
 */
static SPIPlanPtr plan_upsert_hits = NULL;
static SPIPlanPtr plan_promote_hits = NULL;

static const char upsert_hits_sql[] =
"INSERT INTO categorize.patterns AS p (owner_id, kind, value, category_id, source, hits, confirmed)"
"SELECT s.o, 'merchant', s.k, s.c, 'learned', s.n, pg_catalog.nextval('categorize.confirmation_seq')"
"  FROM (SELECT u.o, u.k, u.c, count(*) AS n, max(u.ord) AS last"
"          FROM unnest($1::int8[], $2::text[], $3::int8[]) WITH ORDINALITY u(o, k, c, ord)"
"         GROUP BY u.o, u.k, u.c ORDER BY max(u.ord)) s "
LEARNED_KEY "DO UPDATE SET hits = p.hits + excluded.hits, active = true, confirmed = excluded.confirmed";

static const char promote_hits_sql[] =
"INSERT INTO categorize.patterns AS p (owner_id, kind, value, category_id, source, hits, confirmed)"
"SELECT NULL, 'merchant', s.k, s.c, 'learned', 1, pg_catalog.nextval('categorize.confirmation_seq')"
"  FROM (SELECT DISTINCT u.k, u.c"
"          FROM unnest($1::int8[], $2::text[], $3::int8[]) u(o, k, c)"
"          JOIN categorize.categories cat ON cat.id = u.c AND cat.owner_id IS NULL"
"         WHERE u.o IS NOT NULL) s"
" WHERE (SELECT count(DISTINCT q.owner_id) FROM categorize.patterns q"
"         WHERE q.source = 'learned' AND q.kind = 'merchant' AND q.amount_min IS NULL"
"           AND q.amount_max IS NULL AND q.value_norm = s.k AND q.category_id = s.c"
"           AND q.active) >= $4 "
LEARNED_KEY "DO NOTHING";

/* Whether categorize.patterns has the evidence columns (1.2 and later) */
bool
catz_patterns_have_evidence(void)
{
	Oid			nsp = get_namespace_oid("categorize", true);
	Oid			rel = OidIsValid(nsp) ? get_relname_relid("patterns", nsp) : InvalidOid;

	return OidIsValid(rel) && get_attnum(rel, "weight_at") != InvalidAttrNumber;
}

/* A one-dimensional array of n Datums with NULLs */
static Datum
array_arg(Datum *values, bool *nulls, int n, Oid type)
{
	int			dims[1] = {n};
	int			lbs[1] = {1};
	int16		typlen;
	bool		typbyval;
	char		typalign;

	get_typlenbyvalalign(type, &typlen, &typbyval, &typalign);
	return PointerGetDatum(construct_md_array(values, nulls, 1, dims, lbs, type,
											  typlen, typbyval, typalign));
}

/*
 * The statements take arrays, whose custom plans cost more to make (every
 * time) than the generic plan costs to run: they keep generic plans
 */
#define GENERIC CURSOR_OPT_GENERIC_PLAN

/* catz_teach() of one row, by the one-row statements */
void
catz_teach_one(const CatzTaught *t, const CatzKeyTaught *before, int promote_min_users)
{
	Oid			types[5] = {INT8OID, TEXTOID, INT8OID, FLOAT8OID, INT8OID};
	Datum		args[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};
	Datum		key = PointerGetDatum(cstring_to_text_with_len(t->key, t->keylen));

	args[0] = Int64GetDatum(t->owner_id);
	nulls[0] = t->has_owner ? ' ' : 'n';
	args[1] = key;
	args[2] = Int64GetDatum(t->category_id);
	args[3] = Float8GetDatum(t->amount);
	nulls[3] = t->has_amount ? ' ' : 'n';
	args[4] = Int64GetDatum(1 + before->taught);
	if (before->category_taught ||
		catz_spi_run_kept(&plan_insert_one, insert_one_sql, 5, types, GENERIC, args, nulls,
						  SPI_OK_INSERT) == 0)
		catz_spi_run_kept(&plan_upsert_one, upsert_one_sql, 5, types, GENERIC, args, nulls,
						  SPI_OK_INSERT);

	/*
	 * Promotion is due when enough owners share the pattern and everyone has
	 * none: asked in that order, as most corrections teach a merchant fewer
	 * owners share (one index scan, not two)
	 */
	if (promote_min_users <= 0 || !t->has_owner ||
		catz_learned_owners(t->key, t->keylen, t->category_id, promote_min_users) < promote_min_users ||
		catz_learned_key_exists(false, 0, t->key, t->keylen, t->category_id))
		return;
	args[0] = key;
	args[1] = Int64GetDatum(t->category_id);
	types[0] = TEXTOID;
	types[1] = INT8OID;
	catz_spi_run_kept(&plan_promote_one, promote_one_sql, 2, types, GENERIC, args, NULL, SPI_OK_INSERT);
}

void
catz_teach(const CatzTaught *rows, int n, int promote_min_users)
{
	Datum	   *o = palloc(sizeof(Datum) * (n ? n : 1));
	bool	   *o_null = palloc(sizeof(bool) * (n ? n : 1));
	Datum	   *k = palloc(sizeof(Datum) * (n ? n : 1));
	Datum	   *c = palloc(sizeof(Datum) * (n ? n : 1));
	Datum	   *a = palloc(sizeof(Datum) * (n ? n : 1));
	bool	   *a_null = palloc(sizeof(bool) * (n ? n : 1));
	bool	   *no_null = palloc0(sizeof(bool) * (n ? n : 1));
	Datum		args[4];
	Oid			types[4] = {INT8ARRAYOID, TEXTARRAYOID, INT8ARRAYOID, FLOAT8ARRAYOID};
	bool		evidence;
	bool		any_owner = false;
	int			i;

	if (n == 0)
		return;
	evidence = catz_patterns_have_evidence();
	if (n == 1 && evidence)
	{
		CatzKeyTaught before;

		catz_learned_before(rows, &before);
		catz_teach_one(rows, &before, promote_min_users);
		return;
	}
	for (i = 0; i < n; i++)
	{
		o[i] = Int64GetDatum(rows[i].owner_id);
		o_null[i] = !rows[i].has_owner;
		k[i] = PointerGetDatum(cstring_to_text_with_len(rows[i].key, rows[i].keylen));
		c[i] = Int64GetDatum(rows[i].category_id);
		a[i] = Float8GetDatum(rows[i].amount);
		a_null[i] = !rows[i].has_amount;
		any_owner |= rows[i].has_owner;
	}
	args[0] = array_arg(o, o_null, n, INT8OID);
	args[1] = array_arg(k, no_null, n, TEXTOID);
	args[2] = array_arg(c, no_null, n, INT8OID);
	args[3] = array_arg(a, a_null, n, FLOAT8OID);

	if (evidence)
		catz_spi_run_kept(&plan_upsert, upsert_sql, 4, types, GENERIC, args, NULL, SPI_OK_INSERT);
	else
		catz_spi_run_kept(&plan_upsert_hits, upsert_hits_sql, 3, types, GENERIC, args, NULL, SPI_OK_INSERT);
	/* Only owners' corrections promote (the statement takes them alone) */
	if (promote_min_users > 0 && any_owner)
	{
		Oid			ptypes[4] = {INT8ARRAYOID, TEXTARRAYOID, INT8ARRAYOID, INT4OID};

		args[3] = Int32GetDatum(promote_min_users);
		if (evidence)
			catz_spi_run_kept(&plan_promote, promote_sql, 4, ptypes, GENERIC, args, NULL, SPI_OK_INSERT);
		else
			catz_spi_run_kept(&plan_promote_hits, promote_hits_sql, 4, ptypes, GENERIC, args, NULL, SPI_OK_INSERT);
	}
}

bool
catz_learned_before(const CatzTaught *t, CatzKeyTaught *before)
{
	memset(before, 0, sizeof(*before));
	if (!catz_patterns_have_evidence())
		return false;
	catz_learned_key_read(t->has_owner, t->owner_id, t->key, t->keylen, t->category_id, before);
	return true;
}
