# Two sessions: what one commits, the other's next call uses (also the next
# statement of an open read committed transaction, and for an owner who
# had nothing of their own, while other owners learn); what one
# rolls back, nobody sees; corrections are idempotent; the trigger never
# overwrites a category that is set.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('sessions');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'categorize'");
$node->start;

$node->safe_psql('postgres', q{
	CREATE EXTENSION categorize;
	INSERT INTO categorize.categories (id, name) VALUES (1, 'Coffee'), (2, 'Books');
	INSERT INTO categorize.patterns (category_id, kind, value) VALUES (1, 'merchant', 'starbucks');
});

# A session's answer for a merchant and user ('none' for NULL)
sub answer
{
	my ($session, $merchant, $user) = @_;
	return $session->query_safe(
		"SELECT coalesce(categorize.categorize('$merchant', NULL, NULL, $user)::text, 'none')");
}

# In a session's open transaction, which already asked for the merchant,
# the next statement uses a correction another session commits meanwhile
sub learned_in_open_transaction
{
	my ($session, $merchant, $user, $category, $before, $after) = @_;
	$session->query_safe(q{BEGIN});
	is(answer($session, $merchant, $user), 'none', $before);
	$node->safe_psql('postgres',
		"SELECT categorize.learn_correction('$merchant', NULL, 15, $user, $category)");
	is(answer($session, $merchant, $user), "$category", $after);
	$session->query_safe(q{COMMIT});
}

# Session A keeps its compiled state between calls
my $a = $node->background_psql('postgres');
is($a->query_safe(q{SELECT categorize.categorize('Starbucks', NULL)}), '1',
	'session A categorizes from the initial patterns');
is(answer($a, 'Daunt Books', 7), 'none', 'session A does not know Daunt Books yet');

# Session B teaches and commits; A's next call uses it
$node->safe_psql('postgres',
	q{SELECT categorize.learn_correction('Daunt Books', NULL, 12, 7, 2)});
is($a->query_safe(q{SELECT categorize.categorize('DAUNT BOOKS', NULL, NULL, 7)}), '2',
	'a correction committed in session B is used by session A');
is(answer($a, 'DAUNT BOOKS', 8), 'none', 'another user is not affected');

# Read committed: in A's open transaction, which already compiled user 7's
# patterns and holds its locks, the next statement uses what B committed
learned_in_open_transaction($a, 'Persephone Books', 7, 2,
	'session A, in a transaction, does not know Persephone Books yet',
	'its next statement uses the correction B committed meanwhile');

# An owner with nothing of their own (A then skips the owner's scope) gets
# a pattern and a correction in B: A's next statement uses them, also in
# an open transaction
is($a->query_safe(q{SELECT coalesce(categorize.categorize('Maggs Bros', NULL, NULL, 9)::text, 'none')
                      FROM generate_series(1, 3) LIMIT 1}),
	'none', 'user 9 has nothing of their own yet');
$node->safe_psql('postgres',
	q{INSERT INTO categorize.patterns (category_id, kind, value, owner_id) VALUES (2, 'merchant', 'maggs bros', 9)});
is($a->query_safe(q{SELECT categorize.categorize('Maggs Bros', NULL, NULL, 9)}), '2',
	"user 9's first pattern, committed in B, is used by A");
learned_in_open_transaction($a, 'Heywood Hill', 10, 2,
	'user 10 has nothing of their own yet',
	"user 10's first correction, committed in B, is used by A's open transaction");

# How many times the session looked an owner's scope up in the shared cache
# while it answered for the merchant and user
sub lookups_to_answer
{
	my ($session, $merchant, $user) = @_;
	my $sql = q{SELECT cache_hits + cache_misses FROM categorize.stats};
	my $before = $session->query_safe($sql);
	answer($session, $merchant, $user);
	return $session->query_safe($sql) - $before;
}

# An owner A found empty stays skipped while other owners learn, and A
# uses their first rows however those reach the shared state: applied by
# their writer, read by a refresh (a commit of more rows than its writer
# applies), or compiled anew after everyone's scopes were retired
# (corrections deleted)
is(answer($a, 'Sotherans', 11), 'none', 'user 11 has nothing of their own yet');
$node->safe_psql('postgres',
	q{SELECT categorize.learn_correction('Any Amount', NULL, 5, 12, 2)});
is(lookups_to_answer($a, 'Sotherans', 11), 0,
	"another user's correction does not make A look user 11 up again");
is(answer($a, 'Any Amount', 12), '2', "and A uses user 12's first correction");
$node->safe_psql('postgres', q{
	INSERT INTO categorize.patterns (category_id, kind, value, owner_id)
	SELECT 1, 'merchant', 'sotherans ' || translate(i::text, '0123456789', 'bcdfghjkmp'), 11
	  FROM generate_series(1, 300) i
	UNION ALL SELECT 2, 'merchant', 'sotherans', 11});
is(answer($a, 'Sotherans', 11), '2',
	"user 11's first patterns, too many for their writer to apply, are used by A");
is(answer($a, 'Bertram Rota', 13), 'none', 'user 13 has nothing of their own yet');
$node->safe_psql('postgres', q{
	BEGIN;
	DELETE FROM categorize.corrections WHERE owner_id = 12;
	INSERT INTO categorize.patterns (category_id, kind, value, owner_id) VALUES (2, 'merchant', 'bertram rota', 13);
	COMMIT});
is(answer($a, 'Bertram Rota', 13), '2',
	"user 13's first pattern, committed with a deletion of corrections, is used by A");

# A pattern inserted in B is used by A; deleting it is seen too
$node->safe_psql('postgres',
	q{INSERT INTO categorize.patterns (category_id, kind, value) VALUES (2, 'keyword', 'waterstones')});
is($a->query_safe(q{SELECT categorize.categorize(NULL, 'waterstones piccadilly')}), '2',
	'a pattern committed in session B is used by session A');
$node->safe_psql('postgres', q{DELETE FROM categorize.patterns WHERE value = 'waterstones'});
is($a->query_safe(q{SELECT coalesce(categorize.categorize(NULL, 'waterstones piccadilly')::text, 'none')}),
	'none', 'a pattern deleted in session B is gone for session A');

# Nothing uncommitted is visible to another session
my $b = $node->background_psql('postgres');
$b->query_safe(q{BEGIN});
$b->query_safe(q{INSERT INTO categorize.patterns (category_id, kind, value) VALUES (2, 'merchant', 'foyles')});
$b->query_safe(q{SELECT categorize.learn_correction('Blackwells', NULL, 20, NULL, 2)});
is($b->query_safe(q{SELECT categorize.categorize('FOYLES', NULL)}), '2',
	'session B sees its own uncommitted pattern');
is($a->query_safe(q{SELECT coalesce(categorize.categorize('FOYLES', NULL)::text, 'none')}),
	'none', 'session A does not see B\'s uncommitted pattern');
is($a->query_safe(q{SELECT coalesce(categorize.categorize('Blackwells', NULL)::text, 'none')}),
	'none', 'session A does not see B\'s uncommitted correction');
$b->query_safe(q{ROLLBACK});
is($b->query_safe(q{SELECT coalesce(categorize.categorize('FOYLES', NULL)::text, 'none')}),
	'none', 'after rollback session B does not see the pattern either');
is($a->query_safe(q{SELECT coalesce(categorize.categorize('Blackwells', NULL)::text, 'none')}),
	'none', 'a rolled-back correction is never seen');
is($node->safe_psql('postgres',
		q{SELECT count(*) FROM categorize.corrections WHERE merchant_name = 'Blackwells'}),
	'0', 'a rolled-back correction leaves no row');

# Idempotency across sessions
$node->safe_psql('postgres', q{SELECT categorize.learn_correction('Hatchards', NULL, 5, 9, 2, 1001)});
$b->query_safe(q{SELECT categorize.learn_correction('Hatchards', NULL, 5, 9, 2, 1001)});
is($node->safe_psql('postgres', q{
	SELECT count(*) || ' ' || (SELECT hits FROM categorize.patterns WHERE value_norm = 'hatchards')
	  FROM categorize.corrections WHERE expense_id = 1001}),
	'1 1', 'the same correction twice for one expense changes nothing more');

# The trigger never overwrites a set category, in any session
$node->safe_psql('postgres', q{
	CREATE TABLE expenses (id bigserial PRIMARY KEY, user_id bigint, merchant_name text,
	                       description text, amount numeric, category_id bigint);
	CREATE TRIGGER c BEFORE INSERT OR UPDATE ON expenses
	    FOR EACH ROW EXECUTE FUNCTION categorize.auto_categorize();
});
$a->query_safe(q{INSERT INTO expenses (merchant_name, category_id) VALUES ('Starbucks', 2)});
$b->query_safe(q{INSERT INTO expenses (merchant_name) VALUES ('Starbucks')});
$b->query_safe(q{UPDATE expenses SET amount = 3});
is($node->safe_psql('postgres', q{SELECT string_agg(category_id::text, ',' ORDER BY id) FROM expenses}),
	'2,1', 'the trigger fills only the NULL category and keeps the one set by the app');

$a->quit;
$b->quit;
$node->stop;
done_testing();
