# Usage per rule: the trigger's committed decisions reach
# categorize.pattern_usage through the worker; reads and rolled-back inserts
# count nothing; the fold reloads no compiled set; a clean restart neither
# loses nor repeats what was not folded yet; pg_dump keeps the counts.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('usage');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'categorize'
categorize.decisions_save_interval = 1
});
$node->start;

$node->safe_psql('postgres', q{
	CREATE EXTENSION categorize;
	INSERT INTO categorize.categories (id, name) VALUES (1, 'Books'), (2, 'Coffee');
	INSERT INTO categorize.patterns (id, category_id, kind, value) VALUES
	    (11, 1, 'merchant', 'Foyles'), (12, 2, 'merchant', 'Costa'), (13, 2, 'keyword', 'flat white');
	CREATE TABLE expenses (id serial PRIMARY KEY, user_id bigint, merchant_name text,
	                       description text, amount numeric, category_id bigint);
	CREATE TRIGGER expenses_categorize BEFORE INSERT OR UPDATE ON expenses
	    FOR EACH ROW EXECUTE FUNCTION categorize.auto_categorize();
});

my $usage_sql = q{SELECT coalesce(string_agg(pattern_id || ':' || decided, ' ' ORDER BY pattern_id), '')
  FROM categorize.pattern_usage};

# Wait until pattern_usage holds what we expect (the worker folds every second)
sub wait_usage
{
	my ($expected, $what) = @_;
	ok($node->poll_query_until('postgres', $usage_sql, $expected), $what)
	  or diag('pattern_usage: ' . $node->safe_psql('postgres', $usage_sql));
}

# The compiled sets the worker publishes, for "the fold reloads nothing"
my $built_sql = q{SELECT rebuilds || '/' || generation FROM categorize.stats};

# case: committed rows of the trigger count, one decision per row
$node->safe_psql('postgres', q{
	INSERT INTO expenses (merchant_name) SELECT 'FOYLES' FROM generate_series(1, 5);
	INSERT INTO expenses (merchant_name) VALUES ('COSTA');
});
wait_usage('11:5 12:1', 'the trigger\'s committed rows reach pattern_usage');
ok($node->safe_psql('postgres', q{
	SELECT last_matched_at > now() - interval '1 hour' FROM categorize.pattern_usage WHERE pattern_id = 11}) eq 't',
	'last_matched_at is the time of the commit');
my $built = $node->safe_psql('postgres', $built_sql);

# case: reads, re-reads and a rolled-back insert count nothing; the next committed row does
$node->safe_psql('postgres', q{
	SELECT count(categorize.categorize(e)) FROM expenses e, generate_series(1, 100);
	SELECT count(*) FROM expenses e, categorize.categorize_detail(e, 3);
	SELECT count(categorize.categorize('Costa', NULL)) FROM generate_series(1, 100);
	SELECT count(categorize.categorize_confidence(e)) FROM expenses e;
});
$node->safe_psql('postgres', q{
	BEGIN;
	INSERT INTO expenses (merchant_name) SELECT 'COSTA' FROM generate_series(1, 7);
	ROLLBACK;
});
$node->safe_psql('postgres', q{INSERT INTO expenses (merchant_name) VALUES ('Costa Coffee')});
wait_usage('11:5 12:2', 'reads and a rolled-back insert counted nothing; the committed row did');
is($node->safe_psql('postgres', $built_sql), $built,
	'folding usage rebuilt no compiled set (no write to categorize.patterns)');
is($node->safe_psql('postgres', q{SELECT count(*) FROM categorize.patterns WHERE hits > 0}), '0',
	'categorize.patterns is not written for usage');

# case: rule_usage and unused_rules see the folded counts
is($node->safe_psql('postgres', q{
	SELECT string_agg(pattern_id || ':' || decided || ':' || (last_matched_at IS NOT NULL), ' ' ORDER BY pattern_id)
	  FROM categorize.rule_usage}),
	'11:5:true 12:2:true 13:0:false', 'rule_usage shows decided and last_matched_at per pattern');
is($node->safe_psql('postgres', q{
	SELECT string_agg(pattern_id::text, ' ' ORDER BY pattern_id) FROM categorize.unused_rules('1 hour')}),
	'13', 'unused_rules: only the pattern that never decided a row');

# case: a clean restart keeps what the worker had not folded yet, and folds it once
$node->safe_psql('postgres', q{INSERT INTO expenses (merchant_name) SELECT 'FOYLES' FROM generate_series(1, 3)});
$node->restart;
wait_usage('11:8 12:2', 'after a restart: the rows committed before it are counted, once');
# the worker keeps running rounds: nothing is folded a second time
$node->safe_psql('postgres', q{INSERT INTO expenses (merchant_name) VALUES ('COSTA')});
wait_usage('11:8 12:3', 'after a restart: new rows are counted, the earlier ones not again');

# case: pg_dump keeps the counts (a configuration table)
$node->safe_psql('postgres', 'CREATE DATABASE restored');
my $dump = $node->basedir . '/usage.dump';
$node->command_ok(['pg_dump', '-Fc', '-d', $node->connstr('postgres'), '-f', $dump], 'pg_dump');
$node->command_ok(['pg_restore', '-d', $node->connstr('restored'), $dump], 'pg_restore');
is($node->safe_psql('restored', $usage_sql), '11:8 12:3', 'the restored database has the usage counts');

# case: deleting a pattern deletes its usage
$node->safe_psql('postgres', 'DELETE FROM categorize.patterns WHERE id = 11');
is($node->safe_psql('postgres', $usage_sql), '12:3', 'a deleted pattern takes its usage with it');
$node->safe_psql('postgres', q{INSERT INTO expenses (merchant_name) VALUES ('COSTA')});
wait_usage('12:4', 'folding goes on after a delete');

$node->stop;
done_testing();
