# pg_dump / pg_restore of a database with the extension keeps categories,
# patterns and corrections, and the restored database categorizes the same.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use CategorizeSample;

my $node = PostgreSQL::Test::Cluster->new('dump');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'categorize'");
$node->start;

$node->safe_psql('postgres', q{CREATE DATABASE src; CREATE DATABASE dst;});
$node->safe_psql('src', $sample_sql);

my $before = $node->safe_psql('src', $sample_snapshot);
my $answers_before = $node->safe_psql('src', $sample_answers);

my $dump = $node->basedir . '/src.dump';
$node->command_ok(['pg_dump', '-Fc', '-d', $node->connstr('src'), '-f', $dump], 'pg_dump');
$node->command_ok(['pg_restore', '-d', $node->connstr('dst'), $dump], 'pg_restore');

is($node->safe_psql('dst', $sample_snapshot), $before, 'categories, patterns and corrections survive dump and restore');
is($node->safe_psql('dst', $sample_answers), $answers_before, 'the restored database categorizes the same');

# New rows after the restore do not collide with restored ids
$node->safe_psql('dst', q{
	INSERT INTO categorize.categories (name) VALUES ('Travel');
	INSERT INTO categorize.patterns (category_id, kind, value)
	    SELECT id, 'merchant', 'trainline' FROM categorize.categories WHERE name = 'Travel';
	SELECT categorize.learn_correction('Uber', NULL, 9, NULL,
	    (SELECT id FROM categorize.categories WHERE name = 'Travel'));
});
is($node->safe_psql('dst', q{SELECT categorize.categorize('TRAINLINE', NULL) = (SELECT id FROM categorize.categories WHERE name = 'Travel')}),
	't', 'identity sequences were restored with the rows');

# A plain-format dump restores too
my $sql = $node->basedir . '/src.sql';
$node->command_ok(['pg_dump', '-d', $node->connstr('src'), '-f', $sql], 'plain pg_dump');
$node->safe_psql('postgres', q{CREATE DATABASE dst2});
$node->command_ok(['psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('dst2'), '-f', $sql],
	'plain restore with psql');
is($node->safe_psql('dst2', $sample_snapshot), $before, 'plain dump keeps the rows too');

$node->stop;
done_testing();
