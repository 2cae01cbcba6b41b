# categorize() and learn_correction() behind pgbouncer in transaction
# pooling mode, where each transaction of a client may run in another server
# session and many clients share few of them: plain calls categorize as
# expected; a correction committed in one server session is used at once by
# another; a pgbench mix of 8 clients over 2 server connections (9 parts
# categorize, 1 part learn_correction, extended protocol) fails no
# transaction, leaves one corrections row per learn transaction, is counted
# exactly by categorize.stats, and never uses more than the 2 connections.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(usleep);

my $pgbouncer = '/usr/sbin/pgbouncer';
plan skip_all => "$pgbouncer is not installed" unless -x $pgbouncer;
my ($pool_size, $clients, $per_client) = (2, 8, 500);

my $node = PostgreSQL::Test::Cluster->new('server');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'categorize'
categorize.max_corrections_per_minute = 0
});
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE app');
$node->safe_psql('app', q{
	CREATE EXTENSION categorize;
	INSERT INTO categorize.categories (name) VALUES ('Coffee'), ('Fuel'), ('Books');
	INSERT INTO categorize.patterns (category_id, kind, value)
	    SELECT c.id, v.kind, v.value FROM categorize.categories c
	      JOIN (VALUES ('Coffee', 'merchant', 'starbucks'), ('Fuel', 'keyword', 'fuel'),
	                   ('Fuel', 'regex', '^shell\s+oil')) AS v(name, kind, value) USING (name);
});
my %cat = map { split /\|/ } split /\n/, $node->safe_psql('app', 'SELECT name, id FROM categorize.categories');

# A Cluster object that is never initialized stands for pgbouncer: it has
# a free port and the same socket directory, so its psql, background_psql
# and connstr go through pgbouncer.  Its basedir holds pgbouncer's files.
my $pgb = PostgreSQL::Test::Cluster->new('pgbouncer');
my ($dir, $user, $sock) = ($pgb->basedir, scalar getpwuid($>), $pgb->host);
append_to_file("$dir/userlist.txt", qq{"$user" ""\n});
append_to_file("$dir/pgbouncer.ini", join("\n",
	'[databases]', "app = host=$sock port=" . $node->port . ' dbname=app', '[pgbouncer]',
	"unix_socket_dir = $sock", 'listen_port = ' . $pgb->port, 'auth_type = trust',
	"auth_file = $dir/userlist.txt", "admin_users = $user", 'pool_mode = transaction',
	"default_pool_size = $pool_size", 'reserve_pool_size = 0', 'max_client_conn = 100',
	"logfile = $dir/pgbouncer.log", ''));
my $bouncer = IPC::Run::start([ $pgbouncer, '-q', "$dir/pgbouncer.ini" ], '>&', "$dir/pgbouncer.out");
END { $bouncer->kill_kill if $bouncer; }    # runs before the nodes' teardown
# Wait until pgbouncer accepts connections.  pg_isready reads no standard
# input: a psql that is refused before IPC::Run has written its SQL to the
# pipe makes that write fail with EPIPE, and IPC::Run then dies, taking the
# whole test with it.
my $deadline = time + $PostgreSQL::Test::Utils::timeout_default;
usleep(100_000)
  while $bouncer->pumpable && time < $deadline
  && !run_log([ 'pg_isready', '-q', '-h', $sock, '-p', $pgb->port, '-d', 'app' ]);
if (!$bouncer->pumpable || time >= $deadline)
{
	fail('pgbouncer accepts connections');
	diag "pgbouncer.out:\n" . slurp_file("$dir/pgbouncer.out");
	diag "pgbouncer.log:\n" . (-f "$dir/pgbouncer.log" ? slurp_file("$dir/pgbouncer.log") : '(none)');
	done_testing();
	exit;
}
like($pgb->safe_psql('pgbouncer', 'SHOW POOLS'), qr/^app\|\Q$user\E\|.*\|transaction$/m,
	'pgbouncer is up, pooling app in transaction mode');

# (1) Plain calls, each statement its own transaction through the pool
is($pgb->safe_psql('app', q{
	SELECT categorize.categorize('POS STARBUCKS #4412', NULL);
	SELECT categorize.categorize('SHELL OIL 77', NULL, 40);
	SELECT categorize.categorize(NULL, 'fuel for the trip', 30, 5);
	SELECT coalesce(categorize.categorize('NOWHERE', NULL), 0);
}), "$cat{Coffee}\n$cat{Fuel}\n$cat{Fuel}\n0", 'categorize() through pgbouncer');

# (2) Sessions x and y each hold a transaction open, so each has one of
# the two server connections to itself, and compile user 7's patterns
# there: no category for Daunt Books yet.  Then x lets go of its server
# connection, the correction runs there, x takes it back, and y's next
# transaction, on the other server connection, uses the correction.
my ($x, $y) = ($pgb->background_psql('app'), $pgb->background_psql('app'));
my $warm = q{SELECT pg_backend_pid(), coalesce(categorize.categorize('Daunt Books', NULL, 12, 7), 0)};
$_->query_safe('BEGIN') foreach ($x, $y);
my ($xpid, $xcat) = split /\|/, $x->query_safe($warm);
my ($ypid, $ycat) = split /\|/, $y->query_safe($warm);
is("$xcat $ycat", '0 0', "no category for Daunt Books before the correction (sessions $xpid, $ypid)");
$x->query_safe('COMMIT');
is($pgb->safe_psql('app', qq{SELECT pg_backend_pid()
	  FROM categorize.learn_correction('Daunt Books', NULL, 12, 7, $cat{Books})}), $xpid,
	"the correction ran in x's former server session ($xpid)");
$x->query_safe('BEGIN');
is($x->query_safe('SELECT pg_backend_pid()'), $xpid, 'x holds that server session again');
$y->query_safe('COMMIT');
is($y->query_safe(q{SELECT pg_backend_pid(), categorize.categorize('DAUNT BOOKS', NULL, 15, 7)}),
	"$ypid|$cat{Books}", "the other server session ($ypid) uses the committed correction at once");
$x->query_safe('COMMIT');
$_->quit foreach ($x, $y);
# ... and one client's next transaction after its correction
$pgb->safe_psql('app', qq{SELECT categorize.learn_correction('Blue Bottle', NULL, 4, 9, $cat{Coffee})});
is($pgb->safe_psql('app', q{SELECT categorize.categorize('Blue Bottle', NULL, 5, 9)}), $cat{Coffee},
	'the next transaction through the pool uses the correction');
is($pgb->safe_psql('app', q{SELECT coalesce(categorize.categorize('Blue Bottle', NULL, 5, 8), 0)}), '0',
	"another user's calls do not");

# (3) pgbench mix through pgbouncer: -j 1, so that the per-script counts in
# its summary are exact; extended protocol without named statements; at
# most 400 transactions a second, to keep the load modest
my $merchants = q{(ARRAY['POS STARBUCKS #1', 'SHELL OIL 9', 'Daunt Books', 'Blue Bottle', 'NOWHERE'])[:m::int]};
append_to_file("$dir/categorize.sql", qq{\\set m random(1, 5)
\\set u random(1, 20)
SELECT categorize.categorize($merchants, NULL, 10, :u::bigint);
});
my ($catmin, $catmax) = (sort { $a <=> $b } values %cat)[ 0, -1 ];
append_to_file("$dir/learn.sql", qq{\\set m random(1, 5)
\\set u random(1, 20)
\\set c random($catmin, $catmax)
SELECT categorize.learn_correction($merchants, NULL, 10, :u::bigint, :c::bigint);
});
my $rows_before = $node->safe_psql('app', 'SELECT count(*) FROM categorize.corrections');
$node->safe_psql('app', 'SELECT categorize.stats_reset()');
my ($out, $err) = ('', '');
my $bench = IPC::Run::start(
	[
		'pgbench', '-n', '-M', 'extended', '-R', 400, '-c', $clients, '-j', '1', '-t', $per_client,
		'-f', "$dir/categorize.sql\@9", '-f', "$dir/learn.sql\@1",
		'-h', $pgb->host, '-p', $pgb->port, 'app'
	],
	'>', \$out, '2>', \$err);
# Sample the server connections to app, as the server and pgbouncer see them
my ($max_backends, $max_servers) = (0, 0);
while ($bench->pumpable)
{
	sleep 1;
	$bench->pump_nb;
	my $b = $node->safe_psql('postgres', q{SELECT count(*) FROM pg_stat_activity WHERE datname = 'app'});
	$max_backends = $b if $b > $max_backends;
	my $s = grep { (split /\|/)[2] eq 'app' } split /\n/, $pgb->safe_psql('pgbouncer', 'SHOW SERVERS');
	$max_servers = $s if $s > $max_servers;
}
ok($bench->finish, 'pgbench through pgbouncer exits cleanly') or diag $err;
note $out;
my ($processed) = $out =~ /number of transactions actually processed: (\d+)/;
my ($failed) = $out =~ /number of failed transactions: (\d+)/;
my %per_script = $out =~ /^SQL script (\d+): .*\n - weight: \d+ .*\n - (\d+) transactions/mg;
my ($ncat, $nlearn) = @per_script{ 1, 2 };
is($processed, $clients * $per_client, 'pgbench processed every transaction (' . ($processed // 'none') . ')');
is($failed, 0, 'no transaction failed');
unlike($err, qr/ERROR|aborted/, 'no error, no client aborted');
is(($ncat // 0) + ($nlearn // 0), $processed, "per script: $ncat categorize, $nlearn learn transactions");
is($node->safe_psql('app', 'SELECT count(*) FROM categorize.corrections') - $rows_before, $nlearn,
	'one correction row per learn transaction');
my ($calls, $categorized, $uncategorized, $corrections) = split /\|/, $node->safe_psql('app',
	'SELECT calls, categorized, uncategorized, corrections FROM categorize.stats');
is($calls, $ncat, "categorize.stats.calls equals the categorize transactions ($calls)");
is($categorized + $uncategorized, $calls, 'categorized + uncategorized = calls');
is($corrections, $nlearn, "categorize.stats.corrections equals the learn transactions ($corrections)");
cmp_ok($max_backends, '<=', $pool_size, "at most $pool_size server sessions on app (saw $max_backends)");
cmp_ok($max_servers, '<=', $pool_size, "pgbouncer opened at most $pool_size server connections (saw $max_servers)");

unlike(slurp_file($node->logfile), qr/terminated by signal|PANIC/, 'no server process crashed');
$bouncer->kill_kill;
$bouncer = undef;
$node->stop;
done_testing();
