/*-------------------------------------------------------------------------
 *
 * spi_guard.c
 *	  SPI connections that run as the extension's owner with a safe
 *	  search_path, the way a SECURITY DEFINER function with
 *	  SET search_path = pg_catalog, pg_temp would.
 *
 * Every statement categorize runs through SPI names its tables with their
 * schema, but operators (=, >=) and the functions behind them are found
 * through search_path, and a caller may put a schema of theirs before
 * pg_catalog: catz_spi_connect() sets search_path to "pg_catalog, pg_temp".
 *
 * It also switches to the owner of schema categorize, so that the roles of
 * the privilege model (categorize_reader, _writer, _admin) need EXECUTE on
 * the functions and no privilege on the tables behind them, and so that a
 * compiled scope, which every backend shares, never depends on who loaded
 * it.  The statements are fixed text with parameters.
 *
 * catz_spi_finish() restores both; an error in between restores them too
 * (transaction or subtransaction abort resets the user and unwinds the
 * GUC nesting level).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/guc.h"
#include "utils/syscache.h"

#include "base/base.h"

/* Owner of schema categorize (the extension's owner) */
static Oid
extension_owner(void)
{
	Oid			nsp = get_namespace_oid("categorize", true);
	HeapTuple	tup;
	Oid			owner;

	if (!OidIsValid(nsp))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension \"categorize\" is not installed in this database"),
				 errhint("Run CREATE EXTENSION categorize.")));
	tup = SearchSysCache1(NAMESPACEOID, ObjectIdGetDatum(nsp));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for namespace %u", nsp);
	owner = ((Form_pg_namespace) GETSTRUCT(tup))->nspowner;
	ReleaseSysCache(tup);
	return owner;
}

CatzSpi
catz_spi_connect(void)
{
	CatzSpi		spi;
	Oid			owner = extension_owner();

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "categorize: SPI_connect failed");
	GetUserIdAndSecContext(&spi.save_user, &spi.save_sec_context);
	SetUserIdAndSecContext(owner, spi.save_sec_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	spi.nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp",
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	return spi;
}

void
catz_spi_finish(CatzSpi spi)
{
	AtEOXact_GUC(true, spi.nestlevel);
	SetUserIdAndSecContext(spi.save_user, spi.save_sec_context);
	SPI_finish();
}

/*
 * Prepare a query once per backend and keep it (*plan caches it);
 * cursor_options as for SPI_prepare_cursor(), 0 for none
 */
SPIPlanPtr
catz_spi_prepare_kept(SPIPlanPtr *plan, const char *sql, int nargs, Oid *argtypes,
					  int cursor_options)
{
	if (*plan == NULL)
	{
		SPIPlanPtr	p = SPI_prepare_cursor(sql, nargs, argtypes, cursor_options);

		if (p == NULL)
			elog(ERROR, "SPI_prepare failed for \"%s\": %s", sql,
				 SPI_result_code_string(SPI_result));
		if (SPI_keepplan(p) != 0)
			elog(ERROR, "SPI_keepplan failed");
		*plan = p;
	}
	return *plan;
}

uint64
catz_spi_run_kept(SPIPlanPtr *plan, const char *sql, int nargs, Oid *argtypes,
				  int cursor_options, Datum *args, const char *nulls, int expect)
{
	int			rc;

	catz_spi_prepare_kept(plan, sql, nargs, argtypes, cursor_options);
	rc = SPI_execute_plan(*plan, args, nulls, false, 0);
	if (rc != expect)
		elog(ERROR, "categorize: statement failed: %s", SPI_result_code_string(rc));
	return SPI_processed;
}
