# Read replicas: a streaming hot standby categorizes exactly like its
# primary; a pattern or correction committed on the primary is used by the
# standby's next call once replayed, also in a backend that stayed connected;
# writes on the standby fail with SQLSTATE 25006; a promoted standby takes
# writes and keeps categorizing; a standby built from a base backup taken
# in the middle of a pattern change converges; a libpq multi-host connection
# string reaches the standby with target_session_attrs=prefer-standby and the
# primary with read-write; and (measured, not asserted)
# categorize() throughput on the standby against the primary.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
# wal_keep_size: the base backups' checkpoints must not recycle WAL a
# standby still streams (there are no slots and no archive)
$primary->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'categorize'
wal_keep_size = '128MB'
});
$primary->start;

$primary->safe_psql('postgres', q{
	CREATE EXTENSION categorize;
	INSERT INTO categorize.categories (id, name, owner_id) VALUES
	    (1, 'Coffee', NULL), (2, 'Books', NULL), (3, 'Fuel', NULL), (4, 'Groceries', NULL),
	    (10, 'Alice hobby', 7);
	INSERT INTO categorize.categories (id, name) SELECT 100 + g, 'bulk ' || g FROM generate_series(0, 19) g;
	INSERT INTO categorize.patterns (category_id, kind, value, owner_id) VALUES
	    (1, 'merchant', 'starbucks', NULL),
	    (2, 'keyword', 'waterstones', NULL),
	    (3, 'regex', '^shell\s+oil', NULL),
	    (10, 'merchant', 'hobbycraft', 7);
	INSERT INTO categorize.patterns (category_id, kind, value)
	    SELECT 100 + g % 20, 'merchant', 'merchant ' || g FROM generate_series(1, 1000) g;
	SELECT categorize.learn_correction('Daunt Books', NULL, 12, 7, 2);
	SELECT categorize.learn_correction('Blue Bottle #12', NULL, 4.5, 7, 1);
	CREATE TABLE expenses (id int PRIMARY KEY, user_id bigint, merchant_name text,
	                       description text, amount numeric);
	INSERT INTO expenses VALUES
	    (1, NULL, 'POS STARBUCKS #4412', NULL, 4.5),
	    (2, 7, 'DAUNT BOOKS', 'marylebone', 12),
	    (3, 8, 'DAUNT BOOKS', 'marylebone', 12),
	    (4, 7, 'Hobbycraft', NULL, 20),
	    (5, NULL, 'Shell Oil 1234', 'fuel', 50);
});

# Every answer for a fixed set of expenses, by values and by row, as one string
my $probe = q{
SELECT string_agg(coalesce(categorize.categorize(m, d, a, u)::text, '-'), ',' ORDER BY i)
       || ' | ' ||
       (SELECT string_agg(coalesce(categorize.categorize(e)::text, '-'), ',' ORDER BY e.id) FROM expenses e)
  FROM (VALUES
    (1, 'Starbucks #42', NULL, 4.5, NULL),
    (2, NULL, 'waterstones piccadilly', 12, NULL),
    (3, 'Shell Oil 1234', NULL, 50, NULL),
    (4, 'Daunt Books', NULL, 12, 7),
    (5, 'Daunt Books', NULL, 12, 8),
    (6, 'Hobbycraft', NULL, 20, 7),
    (7, 'Hobbycraft', NULL, 20, 8),
    (8, 'merchant 77', NULL, 5, NULL),
    (9, 'Unknown Shop', NULL, 1, NULL),
    (10, 'BLUE BOTTLE', NULL, 4.5, 7),
    (11, 'Foyles', NULL, 9, NULL),
    (12, 'Hatchards', NULL, 9, 9),
    (13, 'Gails Bakery', NULL, 6.2, 7)
  ) v(i, m, d, a, u)
};

# Run $sql in a session until it returns $want or $deadline seconds passed;
# returns (answer, seconds, number of calls)
sub poll_session
{
	my ($session, $sql, $want, $deadline) = @_;
	my $t0 = time;
	my ($got, $calls) = ('', 0);
	while (1)
	{
		$got = $session->query_safe($sql);
		$calls++;
		my $elapsed = time - $t0;
		return ($got, $elapsed, $calls) if $got eq $want || $elapsed > $deadline;
		usleep(20_000);
	}
}

# SQLSTATE, message and hint of the error $sql raises on $node (verbose psql)
sub error_of
{
	my ($node, $sql) = @_;
	my ($rc, $out, $err) = $node->psql('postgres', "\\set VERBOSITY verbose\n$sql");
	my ($state, $msg) = $err =~ /ERROR:\s+([0-9A-Z]{5}):\s+([^\n]*)/;
	my ($hint) = $err =~ /HINT:\s+([^\n]*)/;
	return { rc => $rc, sqlstate => $state // 'none', message => $msg // $err, hint => $hint };
}

$primary->backup('initial');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'initial', has_streaming => 1);
$standby->start;
$primary->wait_for_catchup($standby);

# case: the standby has the library preloaded and is in recovery
is($standby->safe_psql('postgres', q{SELECT pg_is_in_recovery()::text || ' ' || current_setting('shared_preload_libraries')}),
	'true categorize', 'the standby is a hot standby with categorize preloaded');

# case: global patterns and an owner's learned patterns give the same answers on the standby
my $primary_answers = $primary->safe_psql('postgres', $probe);
is($primary_answers, '1,2,3,2,-,10,-,117,-,1,-,-,- | 1,2,-,10,3',
	'the primary categorizes the fixtures as expected');
is($standby->safe_psql('postgres', $probe), $primary_answers,
	'the standby gives the same answers as the primary (global, owner, learned, row form)');
my ($calls, $cache_bytes) = split /\|/, $standby->safe_psql('postgres',
	q{SELECT calls, cache_bytes FROM categorize.stats});
cmp_ok($calls, '>', 0, "categorize.stats counts calls on the standby ($calls)");
cmp_ok($cache_bytes, '>', 0, "the standby serves from its own shared cache ($cache_bytes bytes)");

# case: a long-lived standby backend uses each replayed change at its next call
my $s = $standby->background_psql('postgres');
is($s->query_safe($probe), $primary_answers, 'a long-lived standby session starts with the same answers');

my @delays;
my @changes = (
	[ 'an inserted pattern',
	  q{INSERT INTO categorize.patterns (category_id, kind, value) VALUES (2, 'merchant', 'foyles')},
	  q{SELECT coalesce(categorize.categorize('FOYLES', NULL)::text, '-')}, '-', '2' ],
	[ 'an updated pattern (category)',
	  q{UPDATE categorize.patterns SET category_id = 4 WHERE value = 'starbucks'},
	  q{SELECT coalesce(categorize.categorize('Starbucks #42', NULL)::text, '-')}, '1', '4' ],
	[ 'an updated pattern (value)',
	  q{UPDATE categorize.patterns SET value = 'foyles books' WHERE value = 'foyles'},
	  q{SELECT coalesce(categorize.categorize('FOYLES', NULL)::text, '-') || ',' || coalesce(categorize.categorize('Foyles Books', NULL)::text, '-')},
	  '2,2', '-,2' ],
	[ 'a deleted pattern',
	  q{DELETE FROM categorize.patterns WHERE value = 'waterstones'},
	  q{SELECT coalesce(categorize.categorize(NULL, 'waterstones piccadilly')::text, '-')}, '2', '-' ],
	[ 'a learned correction',
	  q{SELECT categorize.learn_correction('Gails Bakery', NULL, 6.2, 7, 4)},
	  q{SELECT coalesce(categorize.categorize('GAILS BAKERY', NULL, NULL, 7)::text, '-') || ',' || coalesce(categorize.categorize('GAILS BAKERY', NULL, NULL, 8)::text, '-')},
	  '-,-', '4,-' ],
	[ "the first pattern of an owner who had none",
	  q{INSERT INTO categorize.patterns (category_id, kind, value, owner_id) VALUES (2, 'merchant', 'maggs bros', 11)},
	  q{SELECT coalesce(categorize.categorize('Maggs Bros', NULL, NULL, 11)::text, '-') || ',' || coalesce(categorize.categorize('Maggs Bros', NULL, NULL, 12)::text, '-')},
	  '-,-', '2,-' ],
);
for my $c (@changes)
{
	my ($what, $change, $check, $before, $after) = @$c;
	is($s->query_safe($check), $before, "before $what the standby session answers $before");
	$primary->safe_psql('postgres', $change);
	$primary->wait_for_catchup($standby);
	my ($got, $delay, $n) = poll_session($s, $check, $after, $PostgreSQL::Test::Utils::timeout_default);
	is($got, $after, "$what on the primary is used by the long-lived standby session");
	is($n, 1, "$what is used by the very next call after replay ($n calls)");
	push @delays, $delay;
	note sprintf('replay-to-visible for %s: %.3f s, %d call(s)', $what, $delay, $n);
}
my ($max_delay) = sort { $b <=> $a } @delays;
note sprintf('replay-to-visible delay: max %.3f s over %d changes', $max_delay, scalar @delays);
$primary_answers = $primary->safe_psql('postgres', $probe);
is($s->query_safe($probe), $primary_answers, 'after all changes the long-lived session agrees with the primary');
is($standby->safe_psql('postgres', $probe), $primary_answers, 'and so does a new standby session');

# case: writes on the standby fail with SQLSTATE 25006 (learn_correction with a hint)
for my $w (
	[ 'learn_correction (values)', q{SELECT categorize.learn_correction('Daunt Books', NULL, 12, 8, 2)} ],
	[ 'learn_correction (row)', q{SELECT categorize.learn_correction(e, 2) FROM expenses e WHERE id = 3} ])
{
	my ($what, $sql) = @$w;
	my $e = error_of($standby, $sql);
	is($e->{sqlstate}, '25006', "$what on the standby fails with SQLSTATE 25006 ($e->{message})");
	ok(defined $e->{hint}, "$what on the standby gives a hint (" . ($e->{hint} // 'none') . ')');
}
for my $w (
	[ 'INSERT', q{INSERT INTO categorize.patterns (category_id, kind, value) VALUES (2, 'merchant', 'hatchards')} ],
	[ 'UPDATE', q{UPDATE categorize.patterns SET category_id = 3 WHERE value = 'starbucks'} ],
	[ 'DELETE', q{DELETE FROM categorize.patterns WHERE value = 'starbucks'} ])
{
	my ($what, $sql) = @$w;
	my $e = error_of($standby, $sql);
	is($e->{sqlstate}, '25006', "$what on categorize.patterns on the standby fails with SQLSTATE 25006 ($e->{message})");
	ok(defined $e->{hint}, "$what on categorize.patterns on the standby gives a hint (" . ($e->{hint} // 'none') . ')');
}
is($s->query_safe($probe), $primary_answers, 'the failed writes changed nothing on the standby');

# case: throughput on the primary and the standby (measured, reported, not asserted)
my $script = PostgreSQL::Test::Utils::tempdir . '/categorize.sql';
PostgreSQL::Test::Utils::append_to_file($script, q{
\set i random(1, 1000)
\set u random(1, 50)
SELECT categorize.categorize('merchant ' || :i, 'card payment', 10, :u);
});
# Two alternating rounds of 2000 transactions a client per server (the
# machine is shared: the ratio is noisy), averaged per server
my (%tps, %rounds);
for my $round (1, 2)
{
	for my $node ($primary, $standby)
	{
		local $ENV{PGOPTIONS} = '-c log_statement=none';
		$node->safe_psql('postgres', q{SELECT categorize.categorize('merchant 1', NULL, NULL, 1)});
		my ($out, $err) = run_command(['pgbench', '-n', '-M', 'prepared', '-c', '2', '-j', '2', '-t', '2000',
			'-f', $script, '-h', $node->host, '-p', $node->port, 'postgres']);
		my ($tps) = $out =~ /tps = ([\d.]+) \(without initial connection time\)/;
		my ($failed) = $out =~ /number of failed transactions: (\d+)/;
		my $name = $node->name;
		ok(defined $tps && $tps > 0, "$name round $round ran the pgbench categorize script (" . ($tps // 'no') . ' tps)');
		is($failed // 0, 0, "$name round $round: no pgbench transaction failed");
		unlike($err, qr/ERROR|FATAL/, "$name round $round: no pgbench error") or diag($err);
		$tps{$name} += ($tps // 0) / 2;
		push @{ $rounds{$name} }, sprintf('%.0f', $tps // 0);
	}
}
note sprintf('pgbench categorize (2 clients, 2 x 2000 transactions a client, prepared): primary %.0f tps (%s), standby %.0f tps (%s), standby/primary = %.2f',
	$tps{primary}, join('/', @{ $rounds{primary} }), $tps{standby}, join('/', @{ $rounds{standby} }),
	$tps{primary} ? $tps{standby} / $tps{primary} : 0);

# case: the README's libpq multi-host connection strings: prefer-standby
# categorizes on the standby, read-write learns on the primary
my $hosts = sprintf('host=%s,%s port=%s,%s dbname=postgres',
	$primary->host, $standby->host, $primary->port, $standby->port);
my $starbucks = $primary->safe_psql('postgres', q{SELECT categorize.categorize('STARBUCKS #12', NULL)});
my ($via_standby) = run_command(['psql', '-X', '-A', '-t', '-d', "$hosts target_session_attrs=prefer-standby",
	'-c', q{SELECT pg_is_in_recovery() || ',' || categorize.categorize('STARBUCKS #12', NULL)}]);
is($via_standby, "true,$starbucks", 'target_session_attrs=prefer-standby categorizes on the standby, as the primary would');
my ($via_primary) = run_command(['psql', '-X', '-A', '-t', '-d', "$hosts target_session_attrs=read-write",
	'-c', q{SELECT pg_is_in_recovery()}]);
is($via_primary, "f", 'target_session_attrs=read-write reaches the primary, where corrections go');

# case: a standby from a base backup taken while a transaction changes patterns
my $w = $primary->background_psql('postgres');
$w->query_safe(q{BEGIN});
$w->query_safe(q{INSERT INTO categorize.patterns (category_id, kind, value) VALUES (2, 'merchant', 'hatchards')});
$w->query_safe(q{SELECT categorize.learn_correction('Hatchards', NULL, 9, 9, 2)});
$primary->backup('midchange');
$w->query_safe(q{INSERT INTO categorize.patterns (category_id, kind, value) VALUES (4, 'keyword', 'piccadilly')});
$w->query_safe(q{UPDATE categorize.patterns SET category_id = 119 WHERE value = 'merchant 77'});
$w->query_safe(q{DELETE FROM categorize.patterns WHERE value = 'hobbycraft'});

my $standby2 = PostgreSQL::Test::Cluster->new('standby2');
$standby2->init_from_backup($primary, 'midchange', has_streaming => 1);
$standby2->start;
$primary->wait_for_catchup($standby2);
my $s2 = $standby2->background_psql('postgres');
is($s2->query_safe($probe), $primary->safe_psql('postgres', $probe),
	'a standby from a mid-change backup agrees with the primary while the change is uncommitted');
is($s2->query_safe(q{SELECT coalesce(categorize.categorize('Hatchards', NULL, NULL, 9)::text, '-')}), '-',
	'it does not use the uncommitted pattern');
$w->query_safe(q{COMMIT});
$w->quit;
$primary->wait_for_catchup($standby2);
my ($got, $delay) = poll_session($s2, q{SELECT coalesce(categorize.categorize('Hatchards', NULL, NULL, 9)::text, '-')},
	'2', $PostgreSQL::Test::Utils::timeout_default);
is($got, '2', sprintf('after the commit is replayed its session uses the new pattern (%.3f s)', $delay));
note sprintf('replay-to-visible on the mid-change standby: %.3f s', $delay);
$primary_answers = $primary->safe_psql('postgres', $probe);
is($primary_answers, '4,4,3,2,-,-,-,119,-,1,-,2,4 | 4,2,-,-,3', 'the primary has the committed change');
is($s2->query_safe($probe), $primary_answers, 'the mid-change standby\'s long-lived session agrees with the primary');
is($standby2->safe_psql('postgres', $probe), $primary_answers, 'and so does a new session there');
$primary->wait_for_catchup($standby);
is($s->query_safe($probe), $primary_answers, 'the first standby agrees too');
$s2->quit;

# case: the promoted standby takes writes and keeps categorizing with them
$standby->promote;
$standby->poll_query_until('postgres', q{SELECT NOT pg_is_in_recovery()})
  or die 'the standby did not leave recovery';
is($s->query_safe($probe), $primary_answers, 'after promotion the long-lived session gives the same answers');
$s->query_safe(q{SELECT categorize.learn_correction('Persephone Books', NULL, 15, 11, 2)});
is($s->query_safe(q{SELECT coalesce(categorize.categorize('PERSEPHONE BOOKS', NULL, NULL, 11)::text, '-')}), '2',
	'the promoted server learns a correction and uses it');
$standby->safe_psql('postgres', q{INSERT INTO categorize.patterns (category_id, kind, value) VALUES (3, 'merchant', 'texaco')});
is($s->query_safe(q{SELECT coalesce(categorize.categorize('TEXACO 12', NULL)::text, '-')}), '3',
	'a pattern inserted in another session of the promoted server is used by the long-lived session');
$standby->safe_psql('postgres', q{SELECT categorize.learn_correction('Persephone Books', NULL, 15, 12, 1)});
is($standby->safe_psql('postgres', q{
	SELECT categorize.categorize('PERSEPHONE BOOKS', NULL, NULL, 11) || ',' || categorize.categorize('PERSEPHONE BOOKS', NULL, NULL, 12)
	       || ',' || categorize.categorize('texaco', NULL) || ',' || (SELECT count(*) FROM categorize.corrections WHERE merchant_name = 'Persephone Books')}),
	'2,1,3,2', 'a new session on the promoted server uses both corrections and the new pattern');
is($standby->safe_psql('postgres', $probe), $primary_answers, 'and the replicated answers are unchanged');
$s->quit;

for my $node ($primary, $standby, $standby2)
{
	unlike(slurp_file($node->logfile), qr/terminated by signal|PANIC|TRAP:/, $node->name . ': no backend crashed');
}
$standby2->stop;
$standby->stop;
$primary->stop;
done_testing();
