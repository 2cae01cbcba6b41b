/*-------------------------------------------------------------------------
 *
 * review.c
 *	  The setting of the review queue: categorize.review_below.
 *
 * categorize.review() (SQL, in the extension script) lists the rows whose
 * engine-set category has a confidence below this setting, or that no
 * rule decided; categorize.accept() confirms one.  Both are plain SQL over
 * categorize_detail() and learn_correction(); only the setting lives here,
 * so that it is defined, checked and documented like the others.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/guc.h"

#include "api/api.h"

double		catz_review_below = 0.8;

void
catz_review_init(void)
{
	DefineCustomRealVariable("categorize.review_below",
							 "Confidence below which categorize.review() lists a row the engine categorized.",
							 "Rows that no rule decided are listed whatever this says.",
							 &catz_review_below,
							 0.8,
							 0.0, 1.0,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);
}
