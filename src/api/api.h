/*-------------------------------------------------------------------------
 *
 * api.h
 *	  The SQL entry points' own declarations: the Init() of the api
 *	  modules that have settings, and what the trigger files share.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CATZ_API_H
#define CATZ_API_H

#include "postgres.h"

#include "commands/trigger.h"
#include "fmgr.h"

/* What learn_correction() learns (categorize.learning) */
typedef enum CatzLearningMode
{
	CATZ_LEARNING_OFF,
	CATZ_LEARNING_OWNER_ONLY,
	CATZ_LEARNING_ON
} CatzLearningMode;

/* learn.c: categorize.learning, categorize.promote_min_users */
extern int	catz_learning;
extern int	catz_promote_min_users;
extern void catz_learn_init(void);

/* auto_categorize.c: categorize.recategorizing */
extern void catz_auto_categorize_init(void);

/* change_tracking.c: error unless called as the trigger it must be */
extern TriggerData *catz_check_trigger(FunctionCallInfo fcinfo, const char *name, bool before, bool row);

#endif							/* CATZ_API_H */
