/*-------------------------------------------------------------------------
 *
 * blob.c
 *	  What the two stores share about a scope's growable blobs: the overlay
 *	  of patterns changed after the scope's snapshot and the delta model of
 *	  corrections committed after it.  Their sizes, how they grow (twofold,
 *	  up to a largest capacity), and applying one change while growing the
 *	  blob as it fills, are written once here; each store only says where a
 *	  blob lives (backend memory or the DSA area) through its grow callback.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "store/store.h"

Size
catz_blob_size(CatzBlobKind kind, uint32 capacity)
{
	if (kind == CATZ_BLOB_OVERLAY)
		return catz_overlay_size(capacity, capacity * CATZ_POOL_PER_PATTERN);
	return catz_model_delta_size(capacity, capacity * CATZ_FEATURES_PER_DOC);
}

/* The capacity after capacity (0: none yet), or 0 when it is the largest */
static uint32
next_capacity(CatzBlobKind kind, uint32 capacity, uint32 largest)
{
	if (capacity == 0)
		return kind == CATZ_BLOB_OVERLAY ? CATZ_OVERLAY_MIN : CATZ_DELTA_MIN;
	if (capacity >= largest)
		return 0;
	return capacity * 2;
}

/* Initialize dst (size bytes) at capacity, holding a copy of src (or empty) */
static bool
init_copy(CatzBlobKind kind, void *dst, Size size, uint32 capacity, const void *src)
{
	if (kind == CATZ_BLOB_OVERLAY)
	{
		CatzOverlay *ov = catz_overlay_init(dst, size, capacity, capacity * CATZ_POOL_PER_PATTERN);

		return ov != NULL && (src == NULL || catz_overlay_copy(ov, src) == CATZ_OK);
	}
	else
	{
		CatzModelDelta *d = catz_model_delta_init(dst, size, capacity,
												  capacity * CATZ_FEATURES_PER_DOC);

		return d != NULL && (src == NULL || catz_model_delta_copy(d, src) == CATZ_OK);
	}
}

Size
catz_blob_bytes(CatzBlobKind kind, const void *blob, uint32 capacity)
{
	return blob ? catz_blob_size(kind, capacity) : 0;
}

void *
catz_blob_grow(CatzBlobKind kind, const void *cur, uint32 capacity, uint32 largest,
			   const CatzBlobAlloc *a, uint32 *new_capacity, Size *new_size)
{
	uint32		next = next_capacity(kind, cur ? capacity : 0, largest);
	Size		size;
	void	   *grown;

	if (next == 0 || (size = catz_blob_size(kind, next)) == 0)
		return NULL;
	if ((grown = a->alloc(a->arg, size)) == NULL)
		return NULL;
	if (!init_copy(kind, grown, size, next, cur))
	{
		a->discard(a->arg, grown);
		return NULL;
	}
	*new_capacity = next;
	*new_size = size;
	return grown;
}

/* Apply c to blob; CATZ_ETOOBIG when it has no room left */
static CatzStatus
apply(const CatzBlobChange *c, void *blob)
{
	switch (c->op)
	{
		case CATZ_CHANGE_PUT:
			return catz_overlay_put(blob, c->pattern);
		case CATZ_CHANGE_DELETE:
			return catz_overlay_delete(blob, c->pattern_id);
		case CATZ_CHANGE_DOC:
			return catz_model_delta_add(blob, c->doc);
	}
	return CATZ_EINVAL;
}

bool
catz_blob_apply(const CatzBlobChange *c, CatzBlobGrowFn grow, void *arg, CatzStatus *status)
{
	CatzBlobKind kind = c->op == CATZ_CHANGE_DOC ? CATZ_BLOB_DELTA : CATZ_BLOB_OVERLAY;
	void	   *blob = grow(arg, kind, false);
	CatzStatus	st;

	*status = CATZ_OK;
	if (blob == NULL)
		return false;
	while ((st = apply(c, blob)) == CATZ_ETOOBIG)
	{
		if ((blob = grow(arg, kind, true)) == NULL)
			return false;
	}
	*status = st;
	return true;
}
