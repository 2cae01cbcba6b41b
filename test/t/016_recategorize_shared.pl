# CALL categorize.recategorize() shared by sessions: each batch claims a
# range of keys in a transaction of its own, so two sessions work on one
# run at once, and a range claimed by a session that died is done again by
# the next one.  A third session holds a row lock in the first range, so
# that the first caller is known to be inside its range (waiting for that
# lock) while the others act.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('recat');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'categorize'
});
$node->start;

$node->safe_psql('postgres', q{
	CREATE EXTENSION categorize;
	INSERT INTO categorize.categories (id, name) VALUES (1, 'Coffee'), (2, 'Travel');
	INSERT INTO categorize.patterns (category_id, kind, value) VALUES
	    (1, 'keyword', 'coffee'), (2, 'keyword', 'taxi');
	CREATE TABLE expenses (id bigint PRIMARY KEY, merchant_name text, description text,
	                       amount numeric, category_id bigint, category_confidence real);
	INSERT INTO expenses (id, description, amount)
	    SELECT g, CASE WHEN g % 2 = 0 THEN 'coffee bar ' ELSE 'taxi ride ' END || g, 5
	      FROM generate_series(1, 5000) g;
});

my $call = q{CALL categorize.recategorize('expenses', batch_size => 500)};
my $run_sql = q{SELECT rows_done || ' ' || (finished_at IS NOT NULL) FROM categorize.recategorize_runs};

# Session H holds row 1, which the first range must update
my $h = $node->background_psql('postgres');
$h->query_safe('BEGIN');
$h->query_safe('SELECT id FROM expenses WHERE id = 1 FOR UPDATE');

# Session A claims the first range and waits for row 1
my $a = $node->background_psql('postgres', on_error_stop => 0);
my $a_pid = $a->query_safe('SELECT pg_backend_pid()');
$a->query_safe('SET client_min_messages = warning');
$a->query_safe('SET client_min_messages = warning');
$a->query_until(qr/started/, "\\echo started\n$call;\n");
ok($node->poll_query_until('postgres',
	"SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $a_pid"),
	'the first session waits for a row of its range');

# case: a second session does every other range meanwhile
my ($ret, $out, $err) = $node->psql('postgres', $call);
is($ret, 0, 'the second session\'s call succeeds');
like($err, qr/resuming after 0 of 5000 rows/,
	'it joined the run under way');
is($node->safe_psql('postgres', q{SELECT lo || '-' || hi || ' ' || (pid = } . $a_pid . q{) FROM categorize.recategorize_claims}),
	'1-501 true', 'only the first session\'s range is left, claimed by it');
is($node->safe_psql('postgres', $run_sql), '4500 false', 'the second session did the other 4500 rows');
is($node->safe_psql('postgres', q{SELECT count(*) FROM expenses WHERE id > 500 AND category_id IS NULL}),
	'0', 'every row after the first range is categorized');

# The first session gets its row and ends the run
$h->query_safe('COMMIT');
$a->query_safe('SELECT 1');
is($node->safe_psql('postgres', $run_sql), '5000 true', 'the first session finished the run: 5000 rows done once');
is($node->safe_psql('postgres', q{SELECT count(*) FROM categorize.recategorize_claims}), '0', 'no claim is left');
is($node->safe_psql('postgres', q{
	SELECT count(*) FILTER (WHERE category_id = CASE WHEN id % 2 = 0 THEN 1 ELSE 2 END)
	  FROM expenses}), '5000', 'every row has its category');
$a->quit;

# case: a session that dies inside its range leaves it to the next one
$node->safe_psql('postgres', q{UPDATE expenses SET category_id = NULL, category_confidence = NULL});
$h->query_safe('BEGIN');
$h->query_safe('SELECT id FROM expenses WHERE id = 1 FOR UPDATE');
$a = $node->background_psql('postgres', on_error_stop => 0);
$a_pid = $a->query_safe('SELECT pg_backend_pid()');
$a->query_safe('SET client_min_messages = warning');
$a->query_until(qr/started/, "\\echo started\n$call;\n");
ok($node->poll_query_until('postgres',
	"SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $a_pid"),
	'a new run: the first session waits in its range again');
$node->safe_psql('postgres', "SELECT pg_terminate_backend($a_pid)");
ok($node->poll_query_until('postgres', "SELECT NOT EXISTS (SELECT FROM pg_stat_activity WHERE pid = $a_pid)"),
	'the first session is gone');
eval { $a->quit };				# its psql exits with an error: the server closed the connection
$h->query_safe('COMMIT');
$h->quit;
is($node->safe_psql('postgres', q{SELECT lo || '-' || hi FROM categorize.recategorize_claims}),
	'1-501', 'its claim is still there');

($ret, $out, $err) = $node->psql('postgres', $call);
is($ret, 0, 'the next call succeeds');
like($err, qr/redoing the range from 1 of a session that stopped/, 'it redid the dead session\'s range');
is($node->safe_psql('postgres', $run_sql), '5000 true', 'the run finished with 5000 rows done');
is($node->safe_psql('postgres', q{
	SELECT count(*) FILTER (WHERE category_id = CASE WHEN id % 2 = 0 THEN 1 ELSE 2 END)
	  FROM expenses}), '5000', 'every row has its category, the dead session\'s range too');

$node->stop;
done_testing();
