/*-------------------------------------------------------------------------
 *
 * worker.h
 *	  The "categorize worker" background worker (worker.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CATZ_WORKER_H
#define CATZ_WORKER_H

#include "postgres.h"

/* The database the worker serves (categorize.worker_database) */
extern char *catz_worker_database;

/* Define the worker's settings and register it (while preloading) */
extern void catz_worker_init(void);

PGDLLEXPORT void catz_worker_main(Datum arg);

/*
 * Add the trigger's committed decisions to categorize.pattern_usage, in
 * transactions of its own (usage.c); the worker calls it every round
 */
extern void catz_usage_fold(void);

/*
 * A correction's hit or miss on a pattern, added to its row when the row is
 * free, else queued in categorize.pattern_feedback (inside SPI); and the
 * worker's fold of the queue, in a transaction of its own (feedback.c)
 */
extern void catz_feedback_count(int64 pattern_id, bool hit);
extern void catz_feedback_fold(void);

/* categorize.feedback_delay, and its definition */
extern int	catz_feedback_delay_ms;
extern void catz_feedback_init(void);

#endif							/* CATZ_WORKER_H */
