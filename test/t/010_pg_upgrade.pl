# pg_upgrade (15 to 15) of a cluster whose database has the extension, with
# the library preloaded in both clusters: pg_upgrade --check passes, the
# upgrade keeps every row of categories, patterns and corrections and the
# positions of their sequences (new rows do not collide), a recategorize run
# still names its table (relid is an oid, which pg_upgrade preserves), and
# the upgraded database categorizes the same.
use strict;
use warnings;
use Cwd;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use CategorizeSample;

my $old = PostgreSQL::Test::Cluster->new('old');
my $new = PostgreSQL::Test::Cluster->new('new');
for my $node ($old, $new)
{
	$node->init;
	$node->append_conf('postgresql.conf', "shared_preload_libraries = 'categorize'");
}

$old->start;
$old->safe_psql('postgres', q{CREATE DATABASE app});
$old->safe_psql('app', $sample_sql);
$old->safe_psql('app', q{
	CREATE TABLE expenses_table (id bigint PRIMARY KEY, user_id bigint, merchant_name text,
	    description text, amount numeric, category_id bigint, category_confidence real);
	INSERT INTO expenses_table (id, user_id, merchant_name, description, amount) VALUES
	    (1, NULL, 'STARBUCKS', NULL, 5), (2, 7, 'Daunt Books', NULL, 12),
	    (3, NULL, NULL, 'Waterstones Piccadilly', 20), (4, NULL, 'Corner shop', NULL, 3);
});
$old->safe_psql('app', q{SET client_min_messages = warning;
	CALL categorize.recategorize('expenses_table', batch_size => 2)});
my $version = $old->safe_psql('app', q{SELECT extversion FROM pg_extension WHERE extname = 'categorize'});

# Everything that must come through unchanged, sequences included
my $snapshot = $sample_snapshot . q{
	    || ' / ' ||
	    (SELECT format('%s,%s,%s,%s', c.last_value, p.last_value, r.last_value, s.last_value)
	       FROM categorize.categories_id_seq c, categorize.patterns_id_seq p,
	            categorize.corrections_id_seq r, categorize.confirmation_seq s)
	    || ' / ' ||
	    (SELECT string_agg(format('%s|%s|%s', id, category_id, category_confidence), ';' ORDER BY id) FROM expenses_table)
	    || ' / ' ||
	    (SELECT string_agg(format('%s|%s|%s|%s|%s|%s|%s', relid::regclass, target_column, key_column,
	        next_key, rows_done, rows_changed, finished_at IS NOT NULL), ';') FROM categorize.recategorize_runs)
};
my $answers = $sample_answers . q{ || ',' || categorize.categorize('Foyles', NULL)};
my $before = $old->safe_psql('app', $snapshot);
my $answers_before = $old->safe_psql('app', $answers);
note("before the upgrade: $before; answers $answers_before");
like($before, qr/expenses_table\|category_id\|id\|5\|4\|3\|t$/, 'the recategorize run finished before the upgrade');
$old->stop;

# pg_upgrade writes its logs and scripts to the current directory
my $bindir = $old->config_data('--bindir');
sub upgrade
{
	my ($node, $name, @extra) = @_;
	my $cwd = getcwd();
	chdir $node->basedir or die "chdir: $!";
	my $ok = ok(
		run_log([
			'pg_upgrade', '--no-sync', '-b', $bindir, '-B', $bindir,
			'-d', $old->data_dir, '-D', $node->data_dir,
			'-p', $old->port, '-P', $node->port,
			'-s', $node->host, '--username', scalar(getpwuid($<)), @extra
		]),
		$name);
	chdir $cwd or die "chdir: $!";
	return $ok;
}
upgrade($new, 'pg_upgrade --check passes', '--check');

# The library is preloaded in the servers pg_upgrade runs; its worker must
# stay out of them (it would hold worker_database open and the restore's
# DROP DATABASE would fail)
if (!upgrade($new, 'pg_upgrade'))
{
	# pg_upgrade keeps its logs when it fails: show them
	diag("---- $_\n" . slurp_file($_)) for glob($new->data_dir . '/pg_upgrade_output.d/*/log/*.log');
	BAIL_OUT('pg_upgrade failed');
}

$new->start;
# Both clusters install the same scripts: the database was created at the default version
is($new->safe_psql('app', q{SELECT extversion FROM pg_extension WHERE extname = 'categorize'}),
	$version, "the extension keeps its version ($version)");
is($new->safe_psql('app', $snapshot), $before,
	'categories, patterns, corrections, sequences and the recategorize run survive pg_upgrade');
is($new->safe_psql('app', $answers), $answers_before, 'the upgraded database categorizes the same');
is($new->safe_psql('app', q{SELECT relation::text || ' ' || percent FROM categorize.recategorize_progress}),
	'expenses_table 100.0', 'recategorize_progress still names the table');
is($new->safe_psql('app', q{SELECT status FROM categorize.health() WHERE check_name = 'library_preloaded'}),
	'ok', 'the library is preloaded in the new cluster');

# New rows after the upgrade do not collide with the upgraded ids
$new->safe_psql('app', q{
	INSERT INTO categorize.categories (name) VALUES ('Travel');
	INSERT INTO categorize.patterns (category_id, kind, value)
	    SELECT id, 'merchant', 'trainline' FROM categorize.categories WHERE name = 'Travel';
	SELECT categorize.learn_correction('Uber', NULL, 9, NULL,
	    (SELECT id FROM categorize.categories WHERE name = 'Travel'));
});
is($new->safe_psql('app', q{
	SELECT categorize.categorize('TRAINLINE', NULL) = (SELECT id FROM categorize.categories WHERE name = 'Travel')
	   AND categorize.categorize('Uber', NULL) = (SELECT id FROM categorize.categories WHERE name = 'Travel')
	   AND (SELECT count(*) FROM categorize.corrections) = 3}),
	't', 'identity sequences continue after the upgrade');

# A new recategorize run on the upgraded table works and replaces the old one
$new->safe_psql('app', q{SET client_min_messages = warning;
	INSERT INTO expenses_table (id, merchant_name, amount) VALUES (5, 'Trainline', 40);
	CALL categorize.recategorize('expenses_table')});
is($new->safe_psql('app', q{
	SELECT format('%s %s %s', e.category_id = c.id, p.rows_total, p.finished_at IS NOT NULL)
	  FROM expenses_table e, categorize.categories c, categorize.recategorize_progress p
	 WHERE e.id = 5 AND c.name = 'Travel' AND p.relation = 'expenses_table'::regclass}),
	't 5 t', 'recategorize runs again on the upgraded table');

$new->stop;
done_testing();
