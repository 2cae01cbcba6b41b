# A writer applies its own committed changes to the shared scopes, once
# for the server; other sessions see them at their next call without
# reading the tables again.  Commits a writer does not apply itself (many
# rows, a full list of seen transactions, COMMIT PREPARED) are read by the
# next stale session's refresh, and every session still sees them.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('writer');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'categorize'
max_prepared_transactions = 4
categorize.max_corrections_per_minute = 0
});
$node->start;

$node->safe_psql('postgres', q{
	CREATE EXTENSION categorize;
	INSERT INTO categorize.categories (id, name) VALUES (1, 'Books'), (2, 'Coffee'), (3, 'Travel');
	INSERT INTO categorize.patterns (category_id, kind, value) VALUES (1, 'merchant', 'alpha shop');
});

# The writer-applied and refresh counts of health()
sub counts
{
	my $detail = $node->safe_psql('postgres',
		"SELECT detail FROM categorize.health() WHERE check_name = 'compiled_set_current'");
	$detail =~ /(\d+) commits applied by their writers, (\d+) refreshes/
	  or die "unexpected health() detail: $detail";
	return ($1, $2);
}

# A reader that keeps its session (and the shared scopes it uses) open
my $reader = $node->background_psql('postgres');
is($reader->query_safe(q{SELECT categorize.categorize('ALPHA SHOP', NULL)}), '1',
	'the reader answers from everyone\'s shared scope');
is($reader->query_safe(q{SELECT categorize.categorize('ZETA CAFE', NULL, NULL, 7)}), '',
	'user 7\'s scope is cached and knows nothing of zeta cafe');

# case: a correction is applied by its writer; the reader sees it without a refresh
my ($applied0, $refreshes0) = counts();
$node->safe_psql('postgres', q{SELECT categorize.learn_correction('Zeta Cafe', 'ZETA CAFE 12', 4.5, 7, 2)});
is($reader->query_safe(q{SELECT categorize.categorize('ZETA CAFE', NULL, NULL, 7)}), '2',
	'the reader sees user 7\'s correction at its next call');
my ($applied1, $refreshes1) = counts();
is($applied1, $applied0 + 1, 'the writer applied its commit');
is($refreshes1, $refreshes0, 'no session read the change from the tables');

# case: a pattern for everyone, inserted and changed in one transaction
$node->safe_psql('postgres', q{
	BEGIN;
	INSERT INTO categorize.patterns (id, category_id, kind, value) VALUES (100, 1, 'merchant', 'omega books');
	UPDATE categorize.patterns SET category_id = 3 WHERE id = 100;
	COMMIT;
});
is($reader->query_safe(q{SELECT categorize.categorize('OMEGA BOOKS', NULL)}), '3',
	'the reader sees the pattern as it was at commit');

# case: a pattern that moves from everyone to user 7 leaves everyone's scope
$node->safe_psql('postgres', q{UPDATE categorize.patterns SET owner_id = 7 WHERE id = 100});
is($reader->query_safe(q{SELECT categorize.categorize('OMEGA BOOKS', NULL)}), '',
	'everyone lost the pattern that moved to user 7');
is($reader->query_safe(q{SELECT categorize.categorize('OMEGA BOOKS', NULL, NULL, 7)}), '3',
	'user 7 has it');
$node->safe_psql('postgres', q{DELETE FROM categorize.patterns WHERE id = 100});
is($reader->query_safe(q{SELECT categorize.categorize('OMEGA BOOKS', NULL, NULL, 7)}), '',
	'a deleted pattern is gone for the reader');
my ($applied2, $refreshes2) = counts();
is($refreshes2, $refreshes1, 'still no refresh for these commits');

# case: a commit with a rolled-back subtransaction applies only the rows that survived
$node->safe_psql('postgres', q{
	BEGIN;
	INSERT INTO categorize.patterns (category_id, kind, value) VALUES (1, 'merchant', 'kappa gone');
	SAVEPOINT s;
	INSERT INTO categorize.patterns (category_id, kind, value) VALUES (1, 'merchant', 'kappa rolled back');
	ROLLBACK TO s;
	INSERT INTO categorize.patterns (category_id, kind, value) VALUES (2, 'merchant', 'kappa kept');
	COMMIT;
});
is($reader->query_safe(q{SELECT categorize.categorize('KAPPA ROLLED BACK', NULL)}), '',
	'the rolled-back row is not seen');
is($reader->query_safe(q{SELECT categorize.categorize('KAPPA KEPT', NULL)}), '2',
	'the rows that survived are');
my ($applied3, $refreshes3) = counts();
is($applied3, $applied2 + 1, 'the writer applied that commit too');
is($refreshes3, $refreshes2, 'without a refresh');

# case: more changes than a transaction logs go through a refresh too
$node->safe_psql('postgres', q{
	INSERT INTO categorize.patterns (category_id, kind, value)
	SELECT 3, 'merchant', 'bulk ' || translate(g::text, '0123456789', 'abcdefghij')
	  FROM generate_series(1, 300) g});
is($reader->query_safe(q{
	SELECT count(*) FROM generate_series(1, 300) g
	 WHERE categorize.categorize('BULK ' || translate(g::text, '0123456789', 'abcdefghij'), NULL) = 3}),
	'300', 'the reader sees all 300 patterns of one large transaction');
my ($applied_bulk, $refreshes_bulk) = counts();
is($applied_bulk, $applied3, 'the writer left the large transaction to a refresh');
cmp_ok($refreshes_bulk, '>', $refreshes3, 'which the reader ran');

# case: many small commits in a row: F's list of seen transactions fills, a refresh empties it
for my $i (1 .. 300)
{
	my $w = $i =~ tr/0-9/a-j/r;
	$node->safe_psql('postgres', "SELECT categorize.learn_correction('Many $w', 'MANY $w', 1, 8, 3)");
}
is($reader->query_safe(q{
	SELECT count(*) FROM generate_series(1, 300) g
	 WHERE categorize.categorize('MANY ' || translate(g::text, '0123456789', 'abcdefghij'), NULL, NULL, 8) = 3}),
	'300', 'the reader sees all 300 corrections');
my ($applied4, $refreshes4) = counts();
cmp_ok($applied4 - $applied_bulk, '>=', 256, 'most were applied by their writers');
cmp_ok($refreshes4, '>', $refreshes_bulk, 'a refresh emptied the list of seen transactions');

# case: COMMIT PREPARED from another session is read by a refresh
$node->safe_psql('postgres', q{
	BEGIN;
	SELECT categorize.learn_correction('Prepared Place', 'PREPARED PLACE', 9.99, 9, 1);
	PREPARE TRANSACTION 'catz';
});
is($reader->query_safe(q{SELECT categorize.categorize('PREPARED PLACE', NULL, NULL, 9)}), '',
	'a prepared correction is not seen before it commits');
$node->safe_psql('postgres', q{COMMIT PREPARED 'catz'});
is($reader->query_safe(q{SELECT categorize.categorize('PREPARED PLACE', NULL, NULL, 9)}), '1',
	'after COMMIT PREPARED the reader sees it');

# case: a rolled-back correction is never applied
$node->safe_psql('postgres', q{
	BEGIN;
	SELECT categorize.learn_correction('Rolled Place', 'ROLLED PLACE', 9.99, 9, 2);
	ROLLBACK;
});
is($reader->query_safe(q{SELECT categorize.categorize('ROLLED PLACE', NULL, NULL, 9)}), '',
	'a rolled-back correction is not seen');

# A session that holds its builds at the points of categorize.test_build_lock
# = $key, started on $query; returns the session and its pid
sub held_session
{
	my ($key, $query) = @_;
	my $session = $node->background_psql('postgres');
	my $pid = $session->query_safe('SELECT pg_backend_pid()');
	$session->query_safe("SET categorize.test_build_lock = $key");
	$session->query_safe(q{SELECT categorize.categorize('ALPHA SHOP', NULL)});   # everyone's: published
	$session->{stdin} .= "$query;\n";
	$session->{run}->pump_nb;
	return ($session, $pid);
}

# Whether process $pid comes to wait for the advisory lock ($k1, $k2, $sub)
sub waits_at
{
	my ($pid, $k1, $k2, $sub) = @_;
	return $node->poll_query_until('postgres', qq{
		SELECT EXISTS (SELECT 1 FROM pg_locks
		                WHERE locktype = 'advisory' AND classid = $k1 AND objid = $k2
		                  AND objsubid = $sub AND NOT granted AND pid = $pid)});
}

# case: a scope compiled while others commit catches up with them before it
# is published: its owner's rows that committed meanwhile are in it, and
# another owner's are not.  The build is held once compiled
# (categorize.test_build_lock, set in the building session only) while
# user 21 and user 22 learn; their writers apply to what is published, which
# user 21's scope is not yet.  User 21 has a pattern already (for an owner
# with nothing of their own nothing is compiled).
$node->safe_psql('postgres', q{
	INSERT INTO categorize.patterns (category_id, kind, value, owner_id) VALUES (1, 'merchant', 'omicron shop', 21)});
my $build_lock = 1515;
my $hold = $node->background_psql('postgres');
$hold->query_safe("SELECT pg_advisory_lock($build_lock)");
my ($builder, $bpid) = held_session($build_lock, q{SELECT categorize.categorize('XI MARKET', NULL, NULL, 21)});
ok(waits_at($bpid, 0, $build_lock, 1),
	'user 21\'s scope is compiled and held before it is published');
$node->safe_psql('postgres', q{SELECT categorize.learn_correction('Xi Market', NULL, 5, 21, 3)});
$node->safe_psql('postgres', q{SELECT categorize.learn_correction('Xi Market', NULL, 5, 22, 2)});
$hold->query_safe("SELECT pg_advisory_unlock($build_lock)");
$hold->quit;
$builder->query_safe('RESET categorize.test_build_lock');
$builder->quit;
is($reader->query_safe(q{SELECT categorize.categorize('XI MARKET', NULL, NULL, 21)}), '3',
	'the scope published after the hold has user 21\'s correction made meanwhile');
is($reader->query_safe(q{SELECT categorize.categorize('XI MARKET', NULL, NULL, 22)}), '2',
	'user 22 has their own');
is($reader->query_safe(q{SELECT categorize.categorize('XI MARKET', NULL, NULL, 23)}), '',
	'and a third user neither (no promotion from two users)');

# case: a publication that finds itself stale twice (writers keep applying
# to what is published while it catches up) catches up once more holding
# the refresh slot, so it cannot be stale again; a commit meanwhile is not
# applied by its writer but left to the next refresh.  Each catch-up adds
# only what the one before did not: a correction's document counts once.
# The build of user 24's scope is held once compiled, then after each
# catch-up (pg_advisory_lock(key, n), categorize.test_build_lock).  With a
# fold threshold of 16 the scope is folded afterwards, and has the same
# counts rebuilt from the tables.
$node->safe_psql('postgres', q{
	ALTER SYSTEM SET categorize.fold_threshold = 16;
	SELECT pg_reload_conf();
	INSERT INTO categorize.patterns (category_id, kind, value, owner_id) VALUES (1, 'merchant', 'pi shop', 24)});
my $step_lock = 1516;
my $stepper = $node->background_psql('postgres');
$stepper->query_safe("SELECT pg_advisory_lock($step_lock), pg_advisory_lock($step_lock, 1), pg_advisory_lock($step_lock, 2)");
my ($publisher, $ppid) = held_session($step_lock, q{SELECT categorize.categorize('PI SHOP', NULL, NULL, 24)});
ok(waits_at($ppid, 0, $step_lock, 1), 'user 24\'s scope is compiled and held');
$node->safe_psql('postgres', q{SELECT categorize.learn_correction('Rho Market', NULL, 5, 24, 3)});
$stepper->query_safe("SELECT pg_advisory_unlock($step_lock)");
ok(waits_at($ppid, $step_lock, 1, 2), 'its publication was stale: it caught up and is held');
$node->safe_psql('postgres', q{SELECT categorize.learn_correction('Tau Market', NULL, 7, 24, 2)});
$stepper->query_safe("SELECT pg_advisory_unlock($step_lock, 1)");
ok(waits_at($ppid, $step_lock, 2, 2), 'stale again: it caught up holding the refresh slot, and is held');
my ($applied_held, $refreshes_held) = counts();
$node->safe_psql('postgres', q{SELECT categorize.learn_correction('Upsilon Deli', NULL, 3, NULL, 2)});
my ($applied_after, $refreshes_after) = counts();
is($applied_after, $applied_held, 'a commit while the slot is held is not applied by its writer');
$stepper->query_safe("SELECT pg_advisory_unlock($step_lock, 2)");
$stepper->quit;
is($publisher->query_safe("SELECT 'published'"), "1\npublished",
	'the publisher answered from the scope it published');
$publisher->quit;
is($reader->query_safe(q{SELECT categorize.categorize('RHO MARKET', NULL, NULL, 24)}) . ' ' .
   $reader->query_safe(q{SELECT categorize.categorize('TAU MARKET', NULL, NULL, 24)}), '3 2',
	'the published scope has both corrections made while it caught up');
is($reader->query_safe(q{SELECT categorize.categorize('UPSILON DELI', NULL)}), '2',
	'the commit left to a refresh is seen');
my ($applied_end, $refreshes_end) = counts();
is($refreshes_end, $refreshes_after + 1, 'one refresh read it');

# The worker's folds, from health()
sub folds
{
	my $detail = $node->safe_psql('postgres',
		"SELECT detail FROM categorize.health() WHERE check_name = 'worker_alive'");
	$detail =~ /(\d+) folds?/ or die "unexpected health() detail: $detail";
	return $1;
}
my $detail_24 = q{
	SELECT string_agg(concat_ws(':', d.rank, d.category_id, d.confidence, d.reason), ' | ' ORDER BY v, d.rank)
	  FROM unnest(ARRAY['RHO MARKET', 'TAU MARKET', 'MARKET RHO', 'TAU']) v,
	       categorize.categorize_detail(v, NULL, NULL, 24) d};
my $caught_up_24 = $reader->query_safe($detail_24);
my $folds0 = folds();
$node->safe_psql('postgres', q{
	INSERT INTO categorize.patterns (category_id, kind, value, owner_id)
	SELECT 1, 'merchant', 'filler ' || i, 24 FROM generate_series(1, 16) i});
ok($node->poll_query_until('postgres', q{
	SELECT substring(detail from '(\d+) folds?$')::int > } . $folds0 . q{
	  FROM categorize.health() WHERE check_name = 'worker_alive'}),
	'the worker folded user 24\'s scope');
is($reader->query_safe($detail_24), $caught_up_24,
	'its counts equal those it had caught up to: no correction was counted twice');
$node->safe_psql('postgres', q{
	ALTER SYSTEM RESET categorize.fold_threshold;
	SELECT pg_reload_conf()});

# case: two writers of one row apply in the order opposite to their
# commits.  Session A updates pattern 9300 and commits; its commit holds its
# apply (categorize.test_apply_after_other) until another writer applies.
# A is visible already, so session B's update of the same row follows the
# update chain without waiting, commits and applies first.  A's older
# version must not be put back over B's: the answer is B's category.
$node->safe_psql('postgres', q{INSERT INTO categorize.patterns (id, category_id, kind, value) VALUES (9300, 1, 'merchant', 'sigma shop')});
is($reader->query_safe(q{SELECT categorize.categorize('SIGMA SHOP', NULL)}), '1', 'sigma shop starts as Books');
my $first = $node->background_psql('postgres');
my $apid = $first->query_safe('SELECT pg_backend_pid()');
$first->query_safe('SET categorize.test_apply_after_other = on');
$first->{stdin} .= "UPDATE categorize.patterns SET category_id = 2 WHERE id = 9300;\n";
$first->{run}->pump_nb;
ok($node->poll_query_until('postgres', qq{
	SELECT wait_event_type = 'Extension' FROM pg_stat_activity WHERE pid = $apid}),
	'the first writer has committed and holds its apply');
is($node->safe_psql('postgres', q{SELECT category_id FROM categorize.patterns WHERE id = 9300}), '2',
	'its update is visible');
$node->safe_psql('postgres', q{UPDATE categorize.patterns SET category_id = 3 WHERE id = 9300});
$first->query_safe('RESET categorize.test_apply_after_other');
$first->quit;
is($reader->query_safe(q{SELECT categorize.categorize('SIGMA SHOP', NULL)}), '3',
	'the second writer\'s version stays: the first one\'s older commit was left to a refresh');

# case: after all of it, the shared scopes equal scopes compiled fresh from the tables
my $expect = $reader->query_safe(q{
	SELECT string_agg(coalesce(categorize.categorize(v, NULL, NULL, o)::text, '-'), ',' ORDER BY o, v)
	  FROM unnest(ARRAY['ALPHA SHOP', 'ZETA CAFE', 'OMEGA BOOKS', 'KAPPA KEPT', 'PREPARED PLACE',
	                    'MANY B', 'MANY BA', 'BULK BCD', 'XI MARKET', 'SIGMA SHOP']) v, unnest(ARRAY[7, 8, 9, 21, 22]) o});
$reader->quit;
$node->restart;
is($node->safe_psql('postgres', q{
	SELECT string_agg(coalesce(categorize.categorize(v, NULL, NULL, o)::text, '-'), ',' ORDER BY o, v)
	  FROM unnest(ARRAY['ALPHA SHOP', 'ZETA CAFE', 'OMEGA BOOKS', 'KAPPA KEPT', 'PREPARED PLACE',
	                    'MANY B', 'MANY BA', 'BULK BCD', 'XI MARKET', 'SIGMA SHOP']) v, unnest(ARRAY[7, 8, 9, 21, 22]) o}),
	$expect, 'the answers equal those of scopes compiled after a restart');

$node->stop;
done_testing();
