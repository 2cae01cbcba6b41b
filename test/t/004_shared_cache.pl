# The shared cache: owners' compiled patterns stay within
# categorize.shared_cache_size when more owners are active than fit, are
# evicted those asked for least often first, and after their TTL; a restart
# starts clean.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('cache');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'categorize'
categorize.shared_cache_size = '2MB'
categorize.max_cached_owners = 100000
});
$node->start;

# 3000 owners with a private category and 5 patterns each
$node->safe_psql('postgres', q{
	CREATE EXTENSION categorize;
	INSERT INTO categorize.categories (id, name) VALUES (1, 'Shared');
	INSERT INTO categorize.categories (id, name, owner_id)
	    SELECT 1000 + o, 'Mine', o FROM generate_series(1, 3000) o;
	INSERT INTO categorize.patterns (category_id, kind, value, owner_id)
	    SELECT 1000 + o, 'merchant', 'shop ' || o || ' branch ' || b, o
	      FROM generate_series(1, 3000) o, generate_series(1, 5) b;
	INSERT INTO categorize.patterns (category_id, kind, value) VALUES (1, 'merchant', 'everyones shop');
});

# Every owner gets their own category, whatever was evicted before
my $wrong = $node->safe_psql('postgres', q{
	SELECT count(*) FROM generate_series(1, 3000) o
	 WHERE categorize.categorize('shop ' || o || ' branch 3', NULL, NULL, o) IS DISTINCT FROM 1000 + o
});
is($wrong, '0', 'every owner is categorized from their own patterns');

my ($bytes, $limit, $evictions) = split /\|/, $node->safe_psql('postgres',
	q{SELECT cache_bytes, cache_limit_bytes, evictions FROM categorize.stats});
cmp_ok($bytes, '<=', $limit, "the cache stays within its budget ($bytes of $limit bytes)");
cmp_ok($evictions, '>', 0, "owners were evicted to make room ($evictions)");
is($node->safe_psql('postgres', q{SELECT status FROM categorize.health() WHERE check_name = 'cache_within_budget'}),
	'ok', 'health reports the cache within budget');

# Everyone's patterns stay resident and correct
is($node->safe_psql('postgres', q{SELECT categorize.categorize('EVERYONES SHOP', NULL, NULL, 17)}),
	'1', 'everyone\'s patterns still apply');

# A second pass: cold owners were evicted, so the cache keeps working
$wrong = $node->safe_psql('postgres', q{
	SELECT count(*) FROM generate_series(3000, 1, -1) o
	 WHERE categorize.categorize('shop ' || o || ' branch 5', NULL, NULL, o) IS DISTINCT FROM 1000 + o
});
is($wrong, '0', 'a second pass in the other order is still right');

# An owner asked for often stays cached while many cold owners pass through
$node->safe_psql('postgres', q{
	SELECT count(categorize.categorize('shop 1 branch 1', NULL, NULL, 1)) FROM generate_series(1, 50)});
my $stats = q{SELECT evictions || ' ' || cache_misses FROM categorize.stats};
my ($ev0, $miss0) = split / /, $node->safe_psql('postgres', $stats);
$node->safe_psql('postgres', q{
	SELECT count(categorize.categorize('shop ' || o || ' branch 2', NULL, NULL, o))
	  FROM generate_series(2, 3000) o});
my ($ev1, $miss1) = split / /, $node->safe_psql('postgres', $stats);
cmp_ok($ev1, '>', $ev0, "the cold owners evicted each other (" . ($ev1 - $ev0) . " evictions)");
is($node->safe_psql('postgres', q{SELECT categorize.categorize('shop 1 branch 4', NULL, NULL, 1)}),
	'1001', 'the busy owner answers');
my ($ev2, $miss2) = split / /, $node->safe_psql('postgres', $stats);
is($miss2, $miss1, 'from its scope still in the cache (no miss)');

# Owners with nothing of their own: a session looks each one up once and
# then remembers it, and one that keeps meeting the same 100 owners between
# 4100 others met once (more than it remembers) looks up no busy one again
my $empty_pass = q{
	SELECT count(categorize.categorize('nothing of theirs', NULL, NULL, o))
	  FROM (SELECT CASE WHEN busy THEN 200000 + i ELSE 300000 + r * 100 + i END AS o
	          FROM generate_series(1, 41) r, generate_series(1, 100) i,
	               (VALUES (true), (false)) b(busy)
	         ORDER BY r, busy DESC, i) s};
my $empty_misses = $node->safe_psql('postgres', qq{
	SELECT cache_misses FROM categorize.stats;
	$empty_pass;
	SELECT cache_misses FROM categorize.stats;});
my ($em0, $en, $em1) = split /\n/, $empty_misses;
is($en, '0', 'owners with nothing of their own get no category');
is($em1 - $em0, 4200, 'each owner without patterns was looked up once (100 busy, 4100 met once)');

# What one session found empty, the next sessions know: a new session
# looks up none of the busy owners again
my $busy_pass = q{SELECT count(categorize.categorize('nothing of theirs', NULL, NULL, 200000 + i))
	FROM generate_series(1, 100) i};
$empty_misses = $node->safe_psql('postgres', qq{
	SELECT cache_misses FROM categorize.stats; $busy_pass; SELECT cache_misses FROM categorize.stats;});
($em0, $en, $em1) = split /\n/, $empty_misses;
is($em1 - $em0, 0, 'a new session looks up no owner another session found empty');

# An owner who gets a pattern is not empty any more, in any session, at once
my $bg = $node->background_psql('postgres');
$bg->query_safe($busy_pass);
$node->safe_psql('postgres', q{
	INSERT INTO categorize.categories (id, name, owner_id) VALUES (9200007, 'of 200007', 200007);
	INSERT INTO categorize.patterns (category_id, kind, value, owner_id)
	VALUES (9200007, 'keyword', 'nothing', 200007)});
is($bg->query_safe(q{SELECT categorize.categorize('nothing of theirs', NULL, NULL, 200007)}),
	'9200007', 'a session that knew the owner empty sees their new pattern');
is($node->safe_psql('postgres', q{SELECT categorize.categorize('nothing of theirs', NULL, NULL, 200007)}),
	'9200007', 'so does a new session');
is($bg->query_safe(q{SELECT categorize.categorize('nothing of theirs', NULL, NULL, 200008)}),
	'', 'the other owners still get nothing');
$bg->quit;

# TTL: an owner's scope is reloaded after categorize.owner_cache_ttl.
# Wait for the reload to reach new sessions, then for the expiry itself:
# calls are hits until the scope is older than the TTL, and the first call
# after that reloads it (a miss) and answers the same
$node->append_conf('postgresql.conf', "categorize.owner_cache_ttl = 1");
$node->reload;
ok($node->poll_query_until('postgres', q{SELECT current_setting('categorize.owner_cache_ttl')}, '1s'),
	'new sessions see categorize.owner_cache_ttl = 1s');
$node->safe_psql('postgres', q{SELECT categorize.categorize('shop 42 branch 1', NULL, NULL, 42)});
my $misses_before = $node->safe_psql('postgres', q{SELECT cache_misses FROM categorize.stats});
ok($node->poll_query_until('postgres', qq{
	SELECT categorize.categorize('shop 42 branch 1', NULL, NULL, 42) || ' '
	       || ((SELECT cache_misses FROM categorize.stats) > $misses_before)}, '1042 true'),
	'an expired owner scope is reloaded (counted as a miss) and still right');

# A restart starts clean: nothing compiled, same answers
$node->restart;
my ($gen, $cached) = split /\|/, $node->safe_psql('postgres',
	q{SELECT generation, cache_bytes FROM categorize.stats});
ok($gen <= 1, "after a restart the generation starts over ($gen)");
is($node->safe_psql('postgres', q{SELECT categorize.categorize('shop 7 branch 2', NULL, NULL, 7)}),
	'1007', 'after a restart owners are categorized the same');
is($node->safe_psql('postgres', q{SELECT categorize.categorize('everyones shop', NULL)}),
	'1', 'after a restart everyone\'s patterns apply');

$node->stop;
done_testing();
