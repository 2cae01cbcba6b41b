# 16 pgbench clients categorize while another client inserts and deletes
# patterns: zero errors, and categorize.stats counts exactly the
# transactions pgbench reports (counters are atomics, no lost updates).
# Each client runs a fixed number of transactions (-t), so that no count
# depends on when a time limit strikes.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

my $per_client = $ENV{CATEGORIZE_STRESS_TRANSACTIONS} || 3000;

my $node = PostgreSQL::Test::Cluster->new('stress');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'categorize'
max_connections = 60
});
$node->start;

$node->safe_psql('postgres', q{
	CREATE EXTENSION categorize;
	INSERT INTO categorize.categories (name) SELECT 'category ' || g FROM generate_series(1, 20) g;
	INSERT INTO categorize.patterns (category_id, kind, value)
	    SELECT 1 + g % 20, 'merchant', 'merchant ' || g FROM generate_series(1, 2000) g;
	CREATE TABLE expenses (id int PRIMARY KEY, user_id bigint, merchant_name text, description text, amount numeric);
	INSERT INTO expenses SELECT g, 1 + g % 50, 'POS merchant ' || (g % 2500) || ' #12', 'card', g % 300
	  FROM generate_series(1, 10000) g;
	SELECT categorize.stats_reset();
});

my $dir = PostgreSQL::Test::Utils::tempdir;
my $reader = "$dir/categorize.sql";
my $writer = "$dir/patterns.sql";
PostgreSQL::Test::Utils::append_to_file($reader, q{
\set id random(1, 10000)
SELECT categorize.categorize(e) FROM expenses e WHERE id = :id;
});
PostgreSQL::Test::Utils::append_to_file($writer, q{
\set g random(2001, 9999)
INSERT INTO categorize.patterns (category_id, kind, value) VALUES (1 + :g % 20, 'merchant', 'merchant ' || :g);
DELETE FROM categorize.patterns WHERE id = (SELECT max(id) FROM categorize.patterns) AND value <> 'merchant 1';
SELECT categorize.learn_correction('merchant ' || :g, NULL, 5, :g % 50, 1 + :g % 7);
});

my @conn = ('-h', $node->host, '-p', $node->port, 'postgres');
my ($rout, $rerr, $wout, $werr) = ('', '', '', '');
my $r = IPC::Run::start(['pgbench', '-n', '-M', 'prepared', '-c', '16', '-j', '2', '-t', $per_client,
	'-f', $reader, @conn], '>', \$rout, '2>', \$rerr);
my $w = IPC::Run::start(['pgbench', '-n', '-c', '1', '-t', $per_client, '--max-tries', '100',
	'-f', $writer, @conn], '>', \$wout, '2>', \$werr);
ok($r->finish, 'the categorizing clients exit cleanly');
ok($w->finish, 'the writing client exits cleanly');
my ($processed) = $rout =~ /number of transactions actually processed: (\d+)/;
my ($failed) = $rout =~ /number of failed transactions: (\d+)/;
is($processed, 16 * $per_client, "pgbench categorized (" . ($processed // 'none') . " transactions)");
is($failed // 0, 0, 'no categorize transaction failed');
unlike($rerr, qr/ERROR|FATAL|PANIC/, 'no error from the categorizing clients');
my ($written) = $wout =~ /number of transactions actually processed: (\d+)/;
my ($wfailed) = $wout =~ /number of failed transactions: (\d+)/;
is($written, $per_client, "patterns were inserted and deleted meanwhile (" . ($written // 'none') . " transactions)");
is($wfailed // 0, 0, 'no writing transaction failed');

my $calls = $node->safe_psql('postgres', q{SELECT calls FROM categorize.stats});
is($calls, $processed, "categorize.stats.calls equals the transactions pgbench reports ($calls)");

# And the answers are still right after all that
is($node->safe_psql('postgres', q{SELECT categorize.categorize('merchant 7', NULL)}),
	$node->safe_psql('postgres', q{SELECT category_id FROM categorize.patterns WHERE value = 'merchant 7'}),
	'a stable pattern still categorizes right');
my $log = PostgreSQL::Test::Utils::slurp_file($node->logfile);
unlike($log, qr/terminated by signal|PANIC/, 'no backend crashed');

$node->stop;
done_testing();
