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

/* learn.c: categorize.learning (categorize.promote_min_users is the store's) */
extern int	catz_learning;
extern void catz_learn_init(void);

/* review.c: categorize.review_below, read by categorize.review() */
extern double catz_review_below;
extern void catz_review_init(void);

/* evidence.c: one taught row (owner, normalized merchant key, category) */
typedef struct CatzTaught
{
	bool		has_owner;
	int64		owner_id;
	const char *key;
	int			keylen;
	int64		category_id;
	bool		has_amount;
	double		amount;
} CatzTaught;

/*
 * Apply n taught rows, in the order they happened, to the learned
 * patterns; promote what promote_min_users owners now share (0: do not)
 */
extern void catz_teach(const CatzTaught *rows, int n, int promote_min_users);



/*
 * learned_keys.c: an owner's learned merchant patterns of a key (everyone's
 * when !has_owner), read by index
 */
typedef struct CatzKeyTaught
{
	int64		taught;			/* taught of the active ones: the owner's
								 * corrections of the key */
	bool		category_taught;	/* the one of the category was taught
									 * (taught > 0), active or not */
} CatzKeyTaught;

extern void catz_learned_key_read(bool has_owner, int64 owner_id, const char *key, int keylen,
								  int64 category_id, CatzKeyTaught *out);

/* Whether the learned pattern (owner, key, category) exists, active or not */
extern bool catz_learned_key_exists(bool has_owner, int64 owner_id, const char *key, int keylen,
									int64 category_id);

/* Owners with an active learned pattern of (key, category), counted up to enough */
extern int64 catz_learned_owners(const char *key, int keylen, int64 category_id, int64 enough);

/*
 * evidence.c: what the row's owner taught of its key before (*before:
 * zeros when nothing); false when categorize.patterns has no evidence
 * columns (before 1.2: learning then takes catz_teach())
 */
extern bool catz_learned_before(const CatzTaught *t, CatzKeyTaught *before);

/* catz_teach() of one row whose learned_before() is known */
extern void catz_teach_one(const CatzTaught *t, const CatzKeyTaught *before, int promote_min_users);

/* Whether categorize.patterns has the evidence columns (1.2 and later) */
extern bool catz_patterns_have_evidence(void);

/*
 * learn_from.c: true while learn_rows() inserts a batch of corrections;
 * the corrections trigger then leaves the transaction's model alone (the
 * batch commits before anything reads it)
 */
extern bool catz_learning_in_bulk;

/* auto_categorize.c: categorize.recategorizing */
extern void catz_auto_categorize_init(void);

/* change_tracking.c: error unless called as the trigger it must be */
extern TriggerData *catz_check_trigger(FunctionCallInfo fcinfo, const char *name, bool before, bool row);

#endif							/* CATZ_API_H */
