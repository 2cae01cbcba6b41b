# Everyone's compiled scope is pinned once per transaction, not once per
# call: a transaction that keeps calling sees a generation published
# meanwhile at its next call, a statement over many rows answers from
# one pin, and the end of the transaction lets the old generation go.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('pins');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'categorize'
categorize.fold_threshold = 16
});
$node->start;

$node->safe_psql('postgres', q{
	CREATE EXTENSION categorize;
	INSERT INTO categorize.categories (id, name) VALUES (1, 'Books'), (2, 'Coffee');
	INSERT INTO categorize.patterns (category_id, kind, value) VALUES (1, 'merchant', 'alpha shop');
});
my $gen_sql = 'SELECT generation FROM categorize.stats';
ok($node->poll_query_until('postgres', "SELECT generation >= 1 FROM categorize.stats"),
	'everyone\'s scope is published');

# case: a transaction holds its pin across calls and sees a new generation at its next call
my $a = $node->background_psql('postgres');
$a->query_safe('BEGIN');
is($a->query_safe(q{SELECT categorize.categorize('ALPHA SHOP', NULL)}), '1',
	'a call in the transaction answers');
my $gen0 = $node->safe_psql('postgres', $gen_sql);
my $bytes0 = $node->safe_psql('postgres', 'SELECT cache_bytes FROM categorize.stats');

# More changes than categorize.fold_threshold: the worker folds them into a new generation
$node->safe_psql('postgres', q{
	INSERT INTO categorize.patterns (category_id, kind, value)
	    SELECT 2, 'merchant', 'beta shop ' || translate(g::text, '0123456789', 'abcdefghij')
	      FROM generate_series(1, 40) g});
ok($node->poll_query_until('postgres', "SELECT generation > $gen0 FROM categorize.stats"),
	'the worker published a new generation');
my $bytes_both = $node->safe_psql('postgres', 'SELECT cache_bytes FROM categorize.stats');
# both generations are in the cache: the new one, and the old one the transaction holds
cmp_ok($bytes_both, '>', 1.5 * $bytes0,
	"the old generation is still held by the open transaction ($bytes_both vs $bytes0 bytes)");

is($a->query_safe(q{SELECT categorize.categorize('BETA SHOP BC', NULL)}), '2',
	'the same transaction\'s next call answers from the new generation');
is($a->query_safe(q{
	SELECT count(*) FROM generate_series(1, 40) g
	 WHERE categorize.categorize('BETA SHOP ' || translate(g::text, '0123456789', 'abcdefghij'), NULL) = 2}),
	'40', 'a statement over many rows answers every row');
$a->query_safe('COMMIT');

# case: once no transaction keeps it, the old generation's memory is freed
ok($node->poll_query_until('postgres',
	"SELECT cache_bytes < $bytes_both FROM categorize.stats"),
	'the old generation is freed after the transaction ended');

# case: a transaction that ends without another call lets its pin go too
$a->query_safe('BEGIN');
$a->query_safe(q{SELECT categorize.categorize('ALPHA SHOP', NULL)});
my $gen1 = $node->safe_psql('postgres', $gen_sql);
$node->safe_psql('postgres', q{
	INSERT INTO categorize.patterns (category_id, kind, value)
	    SELECT 1, 'merchant', 'gamma shop ' || translate(g::text, '0123456789', 'abcdefghij')
	      FROM generate_series(1, 40) g});
ok($node->poll_query_until('postgres', "SELECT generation > $gen1 FROM categorize.stats"),
	'another generation is published meanwhile');
$bytes_both = $node->safe_psql('postgres', 'SELECT cache_bytes FROM categorize.stats');
$a->query_safe('ROLLBACK');
ok($node->poll_query_until('postgres',
	"SELECT cache_bytes < $bytes_both FROM categorize.stats"),
	'a rolled-back transaction let its pin go');
$a->quit;

$node->stop;
done_testing();
