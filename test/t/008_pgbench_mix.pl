# The issue's mixed load: pgbench with 32 clients, 90% categorize() and
# 10% learn_correction() (in REPEATABLE READ transactions, so that
# concurrent corrections of the same pattern meet serialization failures,
# retried with --max-tries), over 100k patterns from bench/gen.sql,
# CATEGORIZE_STRESS_TRANSACTIONS a client (default 3000: each client runs a
# fixed number of transactions, so that no failure or count depends on when
# a time limit strikes).  Zero failed transactions and no error but retried
# serialization failures; categorize.stats counts
# exactly the categorize() calls and the corrections pgbench reports per
# script (from its per-transaction log); the shared cache stays within
# categorize.shared_cache_size all along (health never critical; when the
# full cache refused an allocation, health says so as a warning) and the
# server's shared memory does not grow.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use File::Basename qw(dirname);
use Cwd qw(abs_path);
use Time::HiRes qw(time);

my $per_client = $ENV{CATEGORIZE_STRESS_TRANSACTIONS} || 3000;
my $clients = 32;
my $patterns = 100000;
my $expenses = 100000;
my $owners = 1000;
my $hot = 300;

my $gen = abs_path(dirname(__FILE__) . '/../../bench/gen.sql');
ok(defined $gen && -f $gen, 'bench/gen.sql is there');

my $node = PostgreSQL::Test::Cluster->new('mix');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'categorize'
max_connections = 60
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION categorize');

# 100k patterns (a tenth of them owners'), 100k expenses of 1000 owners
my ($gout, $gerr) = ('', '');
my $generated = IPC::Run::run(
	[
		'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1',
		'-v', "patterns=$patterns", '-v', "expenses=$expenses", '-v', "owners=$owners",
		'-d', $node->connstr('postgres'), '-f', $gen
	],
	'>', \$gout, '2>', \$gerr);
ok($generated, 'bench/gen.sql generated the data') or diag $gerr;
my ($npat, $nexp, $catmin, $catmax) = split /\|/, $node->safe_psql('postgres', q{
	SELECT (SELECT count(*) FROM categorize.patterns WHERE active),
	       (SELECT count(*) FROM bench.expenses),
	       (SELECT min(id) FROM categorize.categories WHERE owner_id IS NULL),
	       (SELECT max(id) FROM categorize.categories WHERE owner_id IS NULL)});
cmp_ok($npat, '>=', $patterns, "$npat patterns");
is($nexp, $expenses, "$nexp expenses");

# Warm the shared cache, then start counting from zero
$node->safe_psql('postgres', q{SELECT count(categorize.categorize(e)) FROM bench.expenses e WHERE id <= 200});
$node->safe_psql('postgres', 'SELECT categorize.stats_reset()');

my $dir = PostgreSQL::Test::Utils::tempdir;
my $categorize_sql = "$dir/categorize.sql";
my $learn_sql = "$dir/learn.sql";
PostgreSQL::Test::Utils::append_to_file($categorize_sql, qq{
\\set id random(1, $expenses)
SELECT categorize.categorize(e) FROM bench.expenses e WHERE e.id = :id;
});
# Corrections go to a few hundred popular expenses, so that concurrent
# ones meet on the same patterns
PostgreSQL::Test::Utils::append_to_file($learn_sql, qq{
\\set id random(1, $hot)
\\set cat random($catmin, $catmax)
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT categorize.learn_correction(e.merchant_name, e.description, e.amount, e.user_id, :cat)
  FROM bench.expenses e WHERE e.id = :id;
COMMIT;
});

# What the shared memory looks like before
my $shmem_sql = q{
SELECT (SELECT coalesce(sum(allocated_size), 0) FROM pg_shmem_allocations WHERE name LIKE 'categorize%')
       || '|' || (SELECT sum(allocated_size) FROM pg_shmem_allocations)
       || '|' || (SELECT count(*) FROM pg_shmem_allocations)
};
my $shmem_before = $node->safe_psql('postgres', $shmem_sql);
my ($limit, $setting) = split /\|/, $node->safe_psql('postgres', q{
	SELECT s.cache_limit_bytes, pg_size_bytes(current_setting('categorize.shared_cache_size'))
	  FROM categorize.stats s});
is($limit, $setting, "the cache's budget is categorize.shared_cache_size ($limit bytes)");
my ($shmem_categorize) = split /\|/, $shmem_before;
cmp_ok($shmem_categorize, '>=', $limit,
	"the budget is allocated up front in the server's shared memory ($shmem_categorize bytes named categorize*)");
my ($corr_rows_before) = $node->safe_psql('postgres', 'SELECT count(*) FROM categorize.corrections');

# The run, sampling the cache while it lasts
my ($out, $err) = ('', '');
my $started = time;
my $bench = IPC::Run::start(
	[
		'pgbench', '-n', '-c', $clients, '-j', '4', '-t', $per_client,
		'--max-tries=100', '--failures-detailed', '--verbose-errors', '-r',
		'-l', "--log-prefix=$dir/txn",
		'-f', "$categorize_sql\@9", '-f', "$learn_sql\@1",
		'-h', $node->host, '-p', $node->port, 'postgres'
	],
	'>', \$out, '2>', \$err);
# (a sample at once, then one a second while pgbench runs)
my ($samples, $max_bytes, $budget_critical) = (0, 0, 0);
while (1)
{
	my ($bytes, $budget) = split /\|/, $node->safe_psql('postgres', q{
		SELECT s.cache_bytes, h.status FROM categorize.stats s, categorize.health() h
		 WHERE h.check_name = 'cache_within_budget'});
	$samples++;
	$max_bytes = $bytes if $bytes > $max_bytes;
	$budget_critical++ if $budget eq 'critical';
	last unless $bench->pumpable;
	$bench->pump_nb;
	sleep 1;
}
my $finished = $bench->finish;
my $elapsed = time - $started;
ok($finished, 'pgbench exits cleanly') or diag $err;
note $out;

my ($processed) = $out =~ /number of transactions actually processed: (\d+)/;
my ($failed) = $out =~ /number of failed transactions: (\d+)/;
my ($serialization) = $out =~ /number of serialization failures: (\d+)/;
my ($deadlocks) = $out =~ /number of deadlock failures: (\d+)/;
my ($retried) = $out =~ /number of transactions retried: (\d+)/;
my ($retries) = $out =~ /total number of retries: (\d+)/;
my ($tps) = $out =~ /tps = ([\d.]+) \(without initial connection time\)/;
is($processed, $clients * $per_client, "pgbench processed every transaction (" . ($processed // 'none') . ")");
is($failed, 0, 'no transaction failed');
is($serialization, 0, 'no transaction failed on a serialization failure after 100 tries');
is($deadlocks, 0, 'no transaction failed on a deadlock');
unlike($err, qr/aborted/, 'no client aborted');

# Every error pgbench met was a serialization failure, and was retried
my @errors = $err =~ /got an error in command \d+ \(SQL\) of script \d+; ERROR:  ([^\n]*)/g;
my @other = grep { !/^could not serialize access/ } @errors;
is(scalar(@other), 0, 'every error was a serialization failure (' . scalar(@errors) . ' errors)')
  or diag join("\n", @other[0 .. ($#other < 9 ? $#other : 9)]);
is(scalar(@errors), $retries // 0, 'every error was retried (' . ($retries // 0) . ' retries)');

# Transactions per script from the per-transaction log (its per-script
# summary is not exact with several threads)
my %done = (0 => 0, 1 => 0);
my $log_failed = 0;
foreach my $file (glob("$dir/txn.*"))
{
	open(my $fh, '<', $file) or die "could not open $file: $!";
	while (my $line = <$fh>)
	{
		my @f = split ' ', $line;
		if ($f[2] =~ /^\d+$/) { $done{ $f[3] }++; }
		else { $log_failed++; }
	}
	close($fh);
}
is($done{0} + $done{1}, $processed, "the log has every transaction ($done{0} categorize, $done{1} learn)");
is($log_failed, 0, 'the log has no failed transaction');

# categorize.stats counts exactly that work
my ($calls, $corrections, $categorized, $uncategorized) = split /\|/, $node->safe_psql('postgres',
	'SELECT calls, corrections, categorized, uncategorized FROM categorize.stats');
is($calls, $done{0}, "categorize.stats.calls equals the categorize transactions ($calls)");
is($categorized + $uncategorized, $calls, 'categorized + uncategorized = calls');
is($corrections, $done{1}, "categorize.stats.corrections equals the learn transactions ($corrections)");
is($node->safe_psql('postgres', 'SELECT count(*) FROM categorize.corrections') - $corr_rows_before,
	$done{1}, 'one correction row per learn transaction');

# Shared memory within budget, and no growth
cmp_ok($samples, '>', 0, "the cache was sampled during the run ($samples samples)");
cmp_ok($max_bytes, '<=', $limit, "the shared cache stayed within its budget (at most $max_bytes of $limit bytes)");
is($budget_critical, 0, 'health never reported more bytes in use than the cache holds');
my ($bytes_after) = $node->safe_psql('postgres', 'SELECT cache_bytes FROM categorize.stats');
cmp_ok($bytes_after, '<=', $limit, "the shared cache is within its budget after the run ($bytes_after bytes)");
is($node->safe_psql('postgres', $shmem_sql), $shmem_before,
	"the server's shared memory allocations did not change ($shmem_before)");
my $health = $node->safe_psql('postgres',
	q{SELECT string_agg(check_name || '=' || status, ' ' ORDER BY check_name) FROM categorize.health()});
like($health, qr/compiled_set_current=ok .*library_preloaded=ok subscription_lag=ok worker_alive=ok/,
	"health after the run: $health");

# The cache can fill up at this load (1000 owners, hundreds of corrections a
# second, rebuilds of their scopes): an allocation it refuses is served by
# the session's own engine, and health must say so, as a warning
my ($budget_status, $budget_detail) = split /\|/, $node->safe_psql('postgres',
	q{SELECT status, detail FROM categorize.health() WHERE check_name = 'cache_within_budget'});
my ($refused) = $budget_detail =~ /(\d+) allocations refused/;
note "cache after the run: $budget_detail";
is($budget_status, ($refused // 0) > 0 ? 'warning' : 'ok',
	'cache_within_budget says whether allocations were refused (' . ($refused // '?') . ' refused)');

my $log = slurp_file($node->logfile);
unlike($log, qr/terminated by signal|PANIC|server process .* exited with exit code/, 'no server process crashed');

my ($rebuilds, $generation, $p50, $p99) = split /\|/, $node->safe_psql('postgres',
	'SELECT rebuilds, generation, round(p50_us::numeric, 1), round(p99_us::numeric, 1) FROM categorize.stats');
diag sprintf(
	"pgbench %d transactions a client, %d clients: %d transactions (%d categorize, %d learn), tps %s, "
	  . "%d retried (%d retries, %d errors), shared cache at most %d of %d bytes, "
	  . "%d rebuilds (generation %d), categorize p50 %s us p99 %s us, wall %.0f s",
	$per_client, $clients, $processed // 0, $done{0}, $done{1}, $tps // '?', $retried // 0,
	$retries // 0, scalar(@errors), $max_bytes, $limit, $rebuilds, $generation, $p50, $p99, $elapsed);

$node->stop;
done_testing();
