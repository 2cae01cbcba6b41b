/*-------------------------------------------------------------------------
 *
 * standby.c
 *	  A clear error, with a hint, for a change to categorize's tables on a
 *	  standby server.
 *
 * PostgreSQL refuses any write on a hot standby in ExecutorStart (SQLSTATE
 * 25006, "cannot execute INSERT in a read-only transaction") before a
 * trigger of ours could run.  An ExecutorStart hook looks first: a write to
 * a table of schema categorize during recovery gets the same SQLSTATE with
 * a message naming the table and a hint to write on the primary.  Every
 * other statement passes through untouched; the check costs nothing
 * outside recovery.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xlog.h"
#include "catalog/namespace.h"
#include "executor/executor.h"
#include "nodes/parsenodes.h"
#include "parser/parsetree.h"
#include "utils/lsyscache.h"

#include "refresh/refresh.h"

static ExecutorStart_hook_type prev_executor_start = NULL;

/* The first table of schema categorize the statement writes, or InvalidOid */
static Oid
written_table(PlannedStmt *stmt)
{
	Oid			nsp = get_namespace_oid("categorize", true);
	ListCell   *lc;

	if (!OidIsValid(nsp))
		return InvalidOid;
	foreach(lc, stmt->resultRelations)
	{
		RangeTblEntry *rte = rt_fetch(lfirst_int(lc), stmt->rtable);

		if (rte->rtekind == RTE_RELATION && get_rel_namespace(rte->relid) == nsp)
			return rte->relid;
	}
	return InvalidOid;
}

static void
categorize_executor_start(QueryDesc *queryDesc, int eflags)
{
	if (queryDesc->operation != CMD_SELECT && !(eflags & EXEC_FLAG_EXPLAIN_ONLY) &&
		RecoveryInProgress())
	{
		Oid			relid = written_table(queryDesc->plannedstmt);

		if (OidIsValid(relid))
			ereport(ERROR,
					(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
					 errmsg("cannot change categorize.%s on a standby server", get_rel_name(relid)),
					 errhint("Change patterns and categories, and learn corrections, on the primary server; standbys get the changes by replication.")));
	}
	if (prev_executor_start)
		prev_executor_start(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);
}

void
catz_standby_install_hook(void)
{
	prev_executor_start = ExecutorStart_hook;
	ExecutorStart_hook = categorize_executor_start;
}
