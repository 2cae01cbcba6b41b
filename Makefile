# categorize: PGXS build.  `make`, `make install`, `make installcheck`
# (pg_regress and TAP against a throwaway server started by pg_regress
# itself, see test/categorize.conf), and the project targets below.

EXTENSION = categorize
MODULE_big = categorize
DATA = $(wildcard sql/categorize--*.sql)

# The glue in layers, top to bottom; each calls only the layers below it
# (tools/check_layers.py checks that), over the pure-C core
OBJS = \
	src/api/module.o src/api/functions.o src/api/learn.o src/api/preview.o \
	src/api/health.o src/api/match_ops.o src/api/change_tracking.o \
	src/api/auto_categorize.o src/api/evidence.o src/api/learned_keys.o \
	src/api/learn_from.o \
	src/api/conflicts.o src/api/review.o \
	src/worker/worker.o src/worker/usage.o src/worker/feedback.o \
	src/engine/engine.o src/engine/decide.o \
	src/refresh/refresh.o src/refresh/changes.o src/refresh/serve.o \
	src/refresh/standby.o src/refresh/empty_owners.o \
	src/store/scope.o src/store/shared_scope.o src/store/blob.o src/store/index_probe.o \
	src/shmem/segment.o src/shmem/stats.o src/shmem/ratelimit.o src/shmem/owner_heat.o \
	src/shmem/decisions.o src/shmem/decisions_file.o \
	src/base/errors.o src/base/xact_state.o src/base/expense.o \
	src/base/rows.o src/base/text.o src/base/spi_guard.o \
	src/core/automaton.o src/core/conflicts.o src/core/crowd.o src/core/hash.o \
	src/core/key_sort.o src/core/model.o \
	src/core/normalize.o \
	src/core/overlay.o src/core/regex_literal.o src/core/score.o \
	src/core/status.o src/core/unicode_tables.o

PG_CPPFLAGS = -I$(srcdir)/src -I$(srcdir)/src/core
PG_CFLAGS = -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers

# pg_regress starts its own server with the library preloaded
REGRESS_OPTS = --temp-instance=./tmp_check_regress --temp-config=$(srcdir)/test/categorize.conf \
	--inputdir=$(srcdir)
REGRESS = $(patsubst sql/%.sql,%,$(sort $(filter-out sql/categorize--%,$(wildcard sql/*.sql))))
TAP_TESTS = 1

EXTRA_CLEAN = tmp_check tmp_check_regress results regression.diffs regression.out log

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# TAP tests live in test/t (PGXS looks in t/), the modules they share in
# test/perl
prove_installcheck = \
	rm -rf '$(CURDIR)'/tmp_check && \
	$(MKDIR_P) '$(CURDIR)'/tmp_check && \
	cd $(srcdir) && TESTDIR='$(CURDIR)' PATH="$(bindir):$(CURDIR):$$PATH" \
	PGPORT='6$(DEF_PGPORT)' PG_TEST_PORT_DIR='$(CURDIR)/tmp_check' \
	PG_REGRESS='$(top_builddir)/src/test/regress/pg_regress' \
	$(PROVE) $(PG_PROVE_FLAGS) -I test/perl $(PROVE_FLAGS) $(if $(PROVE_TESTS),$(PROVE_TESTS),test/t/*.pl)

.PHONY: unit fuzz test demo bench eval

unit:
	$(MAKE) -C test/unit check

fuzz:
	$(MAKE) -C test/fuzz run SECONDS=$(or $(FUZZ_SECONDS),60)

test:
	./test/run_all.sh

demo:
	./bench/demo.sh

eval:
	./bench/eval.sh

bench:
	./bench/run

# PGXS tracks no header dependencies: every object depends on every header
$(OBJS): $(wildcard $(srcdir)/src/*/*.h)

# The two halves of installcheck, for test/run_all.sh
.PHONY: installcheck-regress installcheck-tap
installcheck-regress: submake $(REGRESS_PREP)
	$(pg_regress_installcheck) $(REGRESS_OPTS) $(REGRESS)

installcheck-tap:
	$(prove_installcheck)

# ---------------------------------------------------------------------------
# Release: `make dist` writes the PGXN archive categorize-<version>.zip from
# git HEAD (git archive; debian/ and .ci/ left out by .gitattributes)
.PHONY: dist
dist:
	./tools/dist.sh
