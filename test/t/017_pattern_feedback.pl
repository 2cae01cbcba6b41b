# The hit or miss a correction gives the pattern that answered: added to
# the row when the row is free; queued in categorize.pattern_feedback,
# without waiting, when another transaction holds the row or a correction
# counted on it lately.  The queue is
# folded by the worker where it serves the database (postgres here), and
# elsewhere (database other) by the next correction after a commit that
# queued.  A session H holds the row lock (SELECT ... FOR UPDATE) whenever
# a case needs a busy row, so nothing here races.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('feedback');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'categorize'
categorize.worker_database = 'postgres'
categorize.max_corrections_per_minute = 0
});
$node->start;

# The same data in two databases: the worker serves postgres, not other.
# In other, categorize.feedback_delay = 0: a correction folds the queue
# whenever a commit queued since the latest fold, and always tries the row
# (with the default, both wait for a delay, which a test cannot wait for).
$node->safe_psql('postgres', 'CREATE DATABASE other');
$node->safe_psql('postgres', 'ALTER DATABASE other SET categorize.feedback_delay = 0');
for my $db ('postgres', 'other')
{
	$node->safe_psql($db, q{
		CREATE EXTENSION categorize;
		INSERT INTO categorize.categories (id, name) VALUES (1, 'Coffee'), (2, 'Restaurants');
		INSERT INTO categorize.patterns (id, category_id, kind, value) VALUES (10, 1, 'keyword', 'coffee');
		SELECT setval('categorize.patterns_id_seq', 100);
	});
}

# A correction of a new owner's 'coffee ...' to Restaurants: a miss on pattern 10
my $n = 0;
sub miss_sql
{
	$n++;
	return "SELECT categorize.learn_correction('Coffee place $n', NULL, 4.5, " . (1000 + $n) . ", 2)";
}
my $counts = q{SELECT hits || ' ' || misses FROM categorize.patterns WHERE id = 10};
my $queue = q{SELECT count(*) || ' ' || coalesce(sum(misses), 0) FROM categorize.pattern_feedback};

# case: a free row counts at once
$node->safe_psql('other', miss_sql());
is($node->safe_psql('other', $counts), '0 1', 'a miss on a free row is counted in the row');
is($node->safe_psql('other', $queue), '0 0', 'nothing is queued');

# case: a busy row: the correction does not wait, its miss is queued
my $h = $node->background_psql('other');
$h->query_safe('BEGIN');
$h->query_safe('SELECT id FROM categorize.patterns WHERE id = 10 FOR UPDATE');
my ($ret, $out, $err) = $node->psql('other', 'SET lock_timeout = 0; ' . miss_sql(),
	extra_params => ['-v', 'ON_ERROR_STOP=1']);
is($ret, 0, 'a correction while another transaction holds the pattern row succeeds') or diag $err;
is($node->safe_psql('other', $queue), '1 1', 'its miss is queued');
is($node->safe_psql('other', $counts), '0 1', 'the row is not changed');

# case: a rolled-back correction queues nothing
$node->safe_psql('other', 'BEGIN; ' . miss_sql() . '; ROLLBACK');
is($node->safe_psql('other', $queue), '1 1', 'a rolled-back correction leaves no queued count');

# case: the next correction that finds the row free adds the queue (no worker here)
$h->query_safe('COMMIT');
is($node->safe_psql('other', $queue), '1 1', 'the queue waits for the next holder of the row');
is($node->safe_psql('other', 'BEGIN; SET LOCAL jit = on; ' . miss_sql() . '; SHOW jit; COMMIT'),
	"\non", 'a correction that folds the queue leaves the session\'s settings as they were');
is($node->safe_psql('other', $counts), '0 3', 'the next correction adds its miss and the queued one');
is($node->safe_psql('other', $queue), '0 0', 'and empties the queue');
is($node->safe_psql('other', q{
	SELECT count(*) FROM categorize.corrections WHERE from_pattern_id = 10 AND to_category_id = 2}),
	'3', 'as many misses as committed corrections');
$h->quit;

# case: where the worker serves, a free row counts at once too
$node->safe_psql('postgres', miss_sql());
is($node->safe_psql('postgres', $counts), '0 1', 'a miss on a free row is counted in the row');

# case: the worker folds what is queued once the row is free, and drops
# what was queued for patterns deleted since
$h = $node->background_psql('postgres');
$h->query_safe('BEGIN');
$h->query_safe('SELECT id FROM categorize.patterns WHERE id = 10 FOR UPDATE');
$node->safe_psql('postgres', miss_sql()) for 1 .. 3;
# (the worker may fold meanwhile: it queues again the sum of what it could
# not add, so the queue's rows vary; the misses it holds do not)
is($node->safe_psql('postgres', q{SELECT coalesce(sum(misses), 0) FROM categorize.pattern_feedback}),
	'3', 'three misses queued while the row is busy');
is($node->safe_psql('postgres', $counts), '0 1', 'the worker leaves them while the row is busy');
$node->safe_psql('postgres', q{INSERT INTO categorize.pattern_feedback (pattern_id, misses) VALUES (999, 1)});
$h->query_safe('COMMIT');
$h->quit;
ok($node->poll_query_until('postgres', "SELECT ($counts) = '0 4' AND ($queue) = '0 0'"),
	'the worker adds the queued misses to the row and empties the queue');

# case: under concurrent corrections of one pattern no count is lost or doubled
my $dir = PostgreSQL::Test::Utils::tempdir;
PostgreSQL::Test::Utils::append_to_file("$dir/learn.sql", q{
\set u random(100000, 900000000)
SELECT categorize.learn_correction('Coffee corner', NULL, 3.0, :u, 2);
});
my ($pout, $perr) = ('', '');
my $ran = IPC::Run::run(
	[ 'pgbench', '-n', '-c', '4', '-j', '2', '-t', '100', '-f', "$dir/learn.sql",
	  '-d', $node->connstr('postgres') ],
	'>', \$pout, '2>', \$perr);
ok($ran, 'pgbench: 4 sessions correcting the same merchant') or diag $perr;
ok($node->poll_query_until('postgres', "SELECT ($queue) = '0 0'"), 'the queue is folded');
is($node->safe_psql('postgres', qq{
	SELECT p.misses = (SELECT count(*) FROM categorize.corrections c
	                    WHERE c.from_pattern_id = 10 AND c.to_category_id <> 1)
	   AND p.hits = (SELECT count(*) FROM categorize.corrections c
	                  WHERE c.from_pattern_id = 10 AND c.to_category_id = 1)
	  FROM categorize.patterns p WHERE p.id = 10}),
	't', 'every correction answered by the pattern counted once');
# case: a pattern counted on lately has its next counts queued, without
# trying its row (each update of the row would leave a dead version in
# every index); the worker folds them.  A long feedback_delay in these
# sessions makes "lately" cover the whole case.
$node->safe_psql('postgres', q{
	INSERT INTO categorize.patterns (id, category_id, kind, value) VALUES (11, 1, 'keyword', 'tea')});
my $tea = 0;
sub tea_miss_sql
{
	$tea++;
	return "SET categorize.feedback_delay = '60s'; "
	  . "SELECT categorize.learn_correction('Tea house $tea', NULL, 2.5, " . (5000 + $tea) . ", 2)";
}
my $tea_counts = q{SELECT hits || ' ' || misses FROM categorize.patterns WHERE id = 11};
my $tea_queue = q{SELECT count(*) FROM categorize.pattern_feedback WHERE pattern_id = 11};
$node->safe_psql('postgres', tea_miss_sql());
is($node->safe_psql('postgres', $tea_counts), '0 1', 'the first miss goes to the row');
# (seen inside its own transaction: once it commits, the worker may fold
# it at any moment)
is($node->safe_psql('postgres', 'BEGIN; ' . tea_miss_sql() . '; ' . qq{
	SELECT n_tup_ins || ' ' || ($tea_counts)
	  FROM pg_stat_xact_user_tables WHERE relid = 'categorize.pattern_feedback'::regclass;
	COMMIT}), "\n1 0 1", 'the next one is queued though the row is free');
ok($node->poll_query_until('postgres', "SELECT ($tea_counts) = '0 2' AND ($tea_queue) = 0"),
	'the worker adds it to the row');

# case: where no worker folds the queue (database other), a free row takes
# the count even when a correction counted on it lately
$node->safe_psql('other', q{
	INSERT INTO categorize.patterns (id, category_id, kind, value) VALUES (12, 1, 'keyword', 'juice')});
for my $i (1 .. 2)
{
	$node->safe_psql('other', "SET categorize.feedback_delay = '60s'; "
		  . "SELECT categorize.learn_correction('Juice bar $i', NULL, 4.0, " . (7000 + $i) . ", 2)");
}
is($node->safe_psql('other', q{SELECT hits || ' ' || misses FROM categorize.patterns WHERE id = 12}),
	'0 2', 'without a worker, both misses go to the free row');
is($node->safe_psql('other', q{SELECT count(*) FROM categorize.pattern_feedback WHERE pattern_id = 12}),
	'0', 'and nothing waits in the queue');

$node->stop;
done_testing();
