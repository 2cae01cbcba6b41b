# pg_dump / pg_restore of a database with the extension keeps categories,
# patterns and corrections, and the restored database categorizes the same.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('dump');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'categorize'");
$node->start;

$node->safe_psql('postgres', q{CREATE DATABASE src; CREATE DATABASE dst;});
$node->safe_psql('src', q{
	CREATE EXTENSION categorize;
	INSERT INTO categorize.categories (name) VALUES ('Coffee'), ('Books');
	INSERT INTO categorize.categories (name, parent_id, owner_id)
	    SELECT 'Rare books', id, 7 FROM categorize.categories WHERE name = 'Books';
	INSERT INTO categorize.patterns (category_id, kind, value, amount_max)
	    SELECT id, 'merchant', 'starbucks', 100 FROM categorize.categories WHERE name = 'Coffee';
	INSERT INTO categorize.patterns (category_id, kind, value)
	    SELECT id, 'regex', '^waterstones\s' FROM categorize.categories WHERE name = 'Books';
	SELECT categorize.learn_correction('Daunt Books', NULL, 12, 7,
	    (SELECT id FROM categorize.categories WHERE name = 'Rare books'), 55);
	SELECT categorize.learn_correction('Foyles', NULL, 9, NULL,
	    (SELECT id FROM categorize.categories WHERE name = 'Books'));
});

my $snapshot = q{
	SELECT (SELECT string_agg(format('%s|%s|%s|%s', id, name, parent_id, owner_id), ';' ORDER BY id) FROM categorize.categories)
	    || ' / ' ||
	    (SELECT string_agg(format('%s|%s|%s|%s|%s|%s|%s|%s', id, category_id, kind, value, amount_max, owner_id, source, hits), ';' ORDER BY id) FROM categorize.patterns)
	    || ' / ' ||
	    (SELECT string_agg(format('%s|%s|%s|%s|%s|%s', id, owner_id, expense_id, merchant_name, amount, to_category_id), ';' ORDER BY id) FROM categorize.corrections)
};
my $answers = q{
	SELECT categorize.categorize('STARBUCKS', NULL, 5) || ',' ||
	       categorize.categorize('Daunt Books', NULL, NULL, 7) || ',' ||
	       categorize.categorize(NULL, 'Waterstones Piccadilly')
};
my $before = $node->safe_psql('src', $snapshot);
my $answers_before = $node->safe_psql('src', $answers);

my $dump = $node->basedir . '/src.dump';
$node->command_ok(['pg_dump', '-Fc', '-d', $node->connstr('src'), '-f', $dump], 'pg_dump');
$node->command_ok(['pg_restore', '-d', $node->connstr('dst'), $dump], 'pg_restore');

is($node->safe_psql('dst', $snapshot), $before, 'categories, patterns and corrections survive dump and restore');
is($node->safe_psql('dst', $answers), $answers_before, 'the restored database categorizes the same');

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
is($node->safe_psql('dst2', $snapshot), $before, 'plain dump keeps the rows too');

$node->stop;
done_testing();
