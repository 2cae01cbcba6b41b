# Without shared_preload_libraries every function still works, with
# backend-local state, and the first call in a backend logs one WARNING
# that says how to enable the shared mode.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('plain');
$node->init;
$node->start;

$node->safe_psql('postgres', q{
	CREATE EXTENSION categorize;
	INSERT INTO categorize.categories (id, name) VALUES (1, 'Coffee');
	INSERT INTO categorize.patterns (category_id, kind, value) VALUES (1, 'merchant', 'starbucks');
});

my ($stdout, $stderr);
$node->psql('postgres', q{
	SELECT categorize.categorize('Starbucks', NULL);
	SELECT categorize.categorize('Starbucks', NULL);
	SELECT count(*) FROM categorize.categorize_detail('Starbucks', NULL);
	SELECT categorize.learn_correction('Costa', NULL, 3, NULL, 1);
	SELECT categorize.categorize('Costa', NULL);
	SELECT calls FROM categorize.stats;
}, stdout => \$stdout, stderr => \$stderr);
is($stdout, "1\n1\n1\n\n1\n3", 'categorize, detail, learning and stats work without preloading');
my @warnings = ($stderr =~ /WARNING:  categorize is not loaded through shared_preload_libraries/g);
is(scalar @warnings, 1, 'exactly one WARNING per backend');
like($stderr, qr/HINT:  Add 'categorize' to shared_preload_libraries/, 'the WARNING says how to enable the shared mode');

# A second backend warns once too
$node->psql('postgres', q{SELECT categorize.categorize('Starbucks', NULL)}, stderr => \$stderr);
like($stderr, qr/WARNING:  categorize is not loaded/, 'every backend warns on its first call');

$node->stop;
done_testing();
