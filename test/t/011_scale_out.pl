# Beyond one primary (issue 16), on loopback with four clusters:
#
#   rules   the rules primary: publishes categories, everyone's patterns and
#           everyone's corrections (owner_id IS NULL) by logical replication
#   shard1, shard2
#           subscribers of the rules, and shards of the expenses by owner;
#           owners' learning stays there
#   coord   the coordinator: expenses partitioned by hash(user_id) into
#           postgres_fdw foreign partitions on the two shards
#
# Checked: the initial copy and every later change (insert, update, delete,
# an owner's row filtered out) reach the subscribers and are used by a
# session that stayed connected; health() reports the subscription; a
# conflict with a subscriber's local pattern stops the apply until it is
# resolved; a restarted subscriber and one that was down while the rules
# changed converge; INSERT through the coordinator fires the shard's
# trigger; what postgres_fdw ships to the shard (and what it does not: the
# STABLE categorize() functions); corrections routed to the owner's shard;
# promotion counted over all shards.  Measured, not asserted:
# apply-to-visible latency and categorize throughput through the
# coordinator against one shard directly (bench/scale_out.sh measures it
# longer).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

my $BIG = '1000000000000000';    # local ids of the subscribers start here

my $rules = PostgreSQL::Test::Cluster->new('rules');
$rules->init(allows_streaming => 'logical');
$rules->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'categorize'
});
$rules->start;

my @shards;
for my $i (1, 2)
{
	my $s = PostgreSQL::Test::Cluster->new("shard$i");
	$s->init;
	# wal_retrieve_retry_interval: a failed apply is retried sooner than
	# the default 5 s.  promote_min_users at its maximum: shards never
	# promote on their own count (promotion counts over all shards, below)
	$s->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'categorize'
wal_retrieve_retry_interval = '200ms'
categorize.promote_min_users = 1000000
});
	$s->start;
	push @shards, $s;
}
my ($shard1, $shard2) = @shards;

my $coord = PostgreSQL::Test::Cluster->new('coord');
$coord->init;
$coord->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'categorize'
});
$coord->start;
$coord->safe_psql('postgres', q{CREATE EXTENSION categorize});

# The rules primary: the reference data and the publication
$rules->safe_psql('postgres', q{
	CREATE EXTENSION categorize;
	ALTER TABLE categorize.categories REPLICA IDENTITY FULL;
	ALTER TABLE categorize.patterns REPLICA IDENTITY FULL;
	ALTER TABLE categorize.corrections REPLICA IDENTITY FULL;
	INSERT INTO categorize.categories (id, name) VALUES
	    (1, 'Coffee'), (2, 'Books'), (3, 'Fuel'), (4, 'Groceries'), (5, 'Bakery');
	INSERT INTO categorize.categories (id, name, owner_id) VALUES (90, 'Rules admin hobby', 99);
	INSERT INTO categorize.patterns (category_id, kind, value) VALUES
	    (1, 'merchant', 'starbucks'),
	    (2, 'keyword', 'waterstones'),
	    (3, 'regex', '^shell\s+oil');
	INSERT INTO categorize.patterns (category_id, kind, value, owner_id) VALUES
	    (90, 'merchant', 'hobbycraft', 99);
	INSERT INTO categorize.patterns (category_id, kind, value)
	    SELECT 1 + g % 4, 'merchant', 'merchant ' || g FROM generate_series(1, 500) g;
	CREATE PUBLICATION categorize_rules FOR TABLE
	    categorize.categories WHERE (owner_id IS NULL),
	    categorize.patterns WHERE (owner_id IS NULL),
	    categorize.corrections WHERE (owner_id IS NULL)
	    WITH (publish = 'insert, update, delete');
});

# Each shard: categorize, local ids far from the rules primary's, the
# subscription, the application's expenses with the trigger, and the two
# views the coordinator reaches them through
my $rules_conn = 'host=' . $rules->host . ' port=' . $rules->port . ' dbname=postgres';
for my $s (@shards)
{
	my $name = $s->name;
	$s->safe_psql('postgres', qq{
		CREATE EXTENSION categorize;
		SELECT setval('categorize.categories_id_seq', $BIG);
		SELECT setval('categorize.patterns_id_seq', $BIG);
		SELECT setval('categorize.corrections_id_seq', $BIG);
		CREATE SUBSCRIPTION categorize_rules_$name CONNECTION '$rules_conn'
		    PUBLICATION categorize_rules;
		CREATE TABLE expenses (
		    id bigint PRIMARY KEY, user_id bigint NOT NULL,
		    merchant_name text, description text, amount numeric(12, 2),
		    category_id bigint, category_confidence real);
		CREATE TRIGGER expenses_categorize BEFORE INSERT OR UPDATE ON expenses
		    FOR EACH ROW EXECUTE FUNCTION categorize.auto_categorize('category_id', 'category_confidence');
		CREATE VIEW expenses_categorized AS
		    SELECT e.id, e.user_id, e.category_id, categorize.categorize(e) AS category_now
		      FROM expenses e;
		CREATE VIEW expense_corrections AS
		    SELECT NULL::bigint AS expense_id, NULL::bigint AS user_id, NULL::bigint AS category_id
		     WHERE false;
		CREATE FUNCTION learn_expense_correction() RETURNS trigger
		LANGUAGE plpgsql SET search_path = pg_catalog, public AS \$\$
		BEGIN
		    PERFORM categorize.learn_correction(e, NEW.category_id)
		       FROM public.expenses e WHERE e.id = NEW.expense_id AND e.user_id = NEW.user_id;
		    IF NOT FOUND THEN
		        RAISE EXCEPTION 'expense % of user % is not on this shard', NEW.expense_id, NEW.user_id;
		    END IF;
		    UPDATE public.expenses SET category_id = NEW.category_id, category_confidence = NULL
		     WHERE id = NEW.expense_id;
		    RETURN NEW;
		END
		\$\$;
		CREATE TRIGGER expense_corrections_learn INSTEAD OF INSERT ON expense_corrections
		    FOR EACH ROW EXECUTE FUNCTION learn_expense_correction();
	});
}
$rules->wait_for_catchup("categorize_rules_$_") for map { $_->name } @shards;
$_->poll_query_until('postgres',
	q{SELECT count(*) = 0 FROM pg_subscription_rel WHERE srsubstate <> 'r'})
  or die 'initial copy did not finish'
  for @shards;

# Every global answer for a fixed set of expenses, as one string
my $probe = q{
SELECT string_agg(coalesce(categorize.categorize(m, d, a, u)::text, '-'), ',' ORDER BY i)
  FROM (VALUES
    (1, 'Starbucks #42', NULL, 4.5, NULL::bigint),
    (2, NULL, 'waterstones piccadilly', 12, NULL),
    (3, 'Shell Oil 1234', NULL, 50, NULL),
    (4, 'merchant 77', NULL, 5, NULL),
    (5, 'Hobbycraft', NULL, 20, 99),
    (6, 'Foyles', NULL, 9, NULL),
    (7, 'Gails Bakery', NULL, 6, 1),
    (8, 'Paul Bakery', NULL, 6, NULL)
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
		usleep(10_000);
	}
}

# health()'s subscription_lag row on $node: "status|detail"
sub lag_row
{
	my ($node) = @_;
	return $node->safe_psql('postgres',
		q{SELECT status || '|' || detail FROM categorize.health() WHERE check_name = 'subscription_lag'});
}

# case: the initial copy; the owner's row stays on the rules primary
my $rules_answers = $rules->safe_psql('postgres', $probe);
is($rules_answers, '1,2,3,2,90,-,-,-', 'the rules primary categorizes the fixtures');
for my $s (@shards)
{
	is($s->safe_psql('postgres', $probe), '1,2,3,2,-,-,-,-',
		$s->name . ': the initial copy gives the rules primary\'s global answers, and not its owner\'s pattern');
	is($s->safe_psql('postgres', q{
		SELECT count(*) || ',' || count(*) FILTER (WHERE owner_id IS NOT NULL) || ','
		       || count(*) FILTER (WHERE value_norm IS DISTINCT FROM
		                          CASE WHEN kind <> 'regex' THEN categorize.normalize(value) END)
		  FROM categorize.patterns}), '503,0,0',
		$s->name . ': 503 global patterns copied, no owner\'s, value_norm kept');
	is($s->safe_psql('postgres', q{SELECT count(*) FROM categorize.categories WHERE owner_id IS NOT NULL}), '0',
		$s->name . ': the owner\'s category is not copied');
}
my @health = split /\|/, lag_row($shard1), 2;
is($health[0], 'ok', "health() on a subscriber: subscription_lag ok ($health[1])");
like($health[1], qr/subscription categorize_rules_shard1: apply worker running/,
	'subscription_lag names the subscription and its apply worker');
@health = split /\|/, lag_row($coord), 2;
is($health[0], 'ok', "health() on a node without subscriptions: subscription_lag ok ($health[1])");

# case: each change on the rules primary is used by a long-lived session
# of each subscriber (it began before the change)
my @sessions = map { $_->background_psql('postgres') } @shards;
is($_->query_safe($probe), '1,2,3,2,-,-,-,-', 'a long-lived subscriber session starts with the copied answers')
  for @sessions;
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
	[ 'a deactivated pattern',
	  q{UPDATE categorize.patterns SET active = false WHERE kind = 'regex'},
	  q{SELECT coalesce(categorize.categorize('Shell Oil 1234', NULL)::text, '-')}, '3', '-' ],
	[ 'a deleted pattern',
	  q{DELETE FROM categorize.patterns WHERE value = 'waterstones'},
	  q{SELECT coalesce(categorize.categorize(NULL, 'waterstones piccadilly')::text, '-')}, '2', '-' ],
	[ 'an owner\'s pattern made everyone\'s (the row filter turns the UPDATE into an INSERT)',
	  q{UPDATE categorize.patterns SET owner_id = NULL, category_id = 5 WHERE value = 'hobbycraft'},
	  q{SELECT coalesce(categorize.categorize('Hobbycraft', NULL)::text, '-')}, '-', '5' ],
	[ 'everyone\'s pattern made an owner\'s (the UPDATE becomes a DELETE)',
	  q{UPDATE categorize.categories SET owner_id = 98 WHERE id = 90;
	    UPDATE categorize.patterns SET owner_id = 98, category_id = 90 WHERE value = 'hobbycraft'},
	  q{SELECT coalesce(categorize.categorize('Hobbycraft', NULL)::text, '-')}, '5', '-' ],
	[ 'a correction for everyone (the global model)',
	  q{SELECT categorize.learn_correction('Hatchards', 'rare books', 12, NULL, 2)},
	  q{SELECT coalesce(categorize.categorize('Hatchards', 'rare books', 12)::text, '-')}, '-', '2' ],
);
for my $c (@changes)
{
	my ($what, $change, $check, $before, $after) = @$c;
	is($_->query_safe($check), $before, "before $what a subscriber session answers $before") for @sessions;
	$rules->safe_psql('postgres', $change);
	for my $i (0, 1)
	{
		$rules->wait_for_catchup('categorize_rules_' . $shards[$i]->name);
		my ($got, $delay, $n) = poll_session($sessions[$i], $check, $after, $PostgreSQL::Test::Utils::timeout_default);
		is($got, $after, $shards[$i]->name . ": $what is used by the long-lived session");
		push @delays, $delay;
		note sprintf('apply-to-visible for %s on %s: %.3f s, %d call(s)', $what, $shards[$i]->name, $delay, $n);
	}
}
my @sorted = sort { $a <=> $b } @delays;
note sprintf('apply-to-visible: median %.3f s, max %.3f s over %d changes and subscribers',
	$sorted[ $#sorted / 2 ], $sorted[-1], scalar @sorted);
$rules_answers = $rules->safe_psql('postgres', $probe);
is($rules_answers, '4,-,-,2,-,-,-,-', 'the rules primary after the changes');
is($_->safe_psql('postgres', $probe), $rules_answers, 'a new session on a subscriber agrees') for @shards;
is($shard1->safe_psql('postgres', q{SELECT count(*) FROM categorize.pattern_tombstones}) > 0 ? 'yes' : 'no', 'yes',
	'replicated deletes leave tombstones on the subscriber');
is($shard1->safe_psql('postgres', q{
	SELECT count(*) FROM categorize.patterns
	 WHERE change_xid > pg_current_xact_id() OR value_norm IS DISTINCT FROM
	       CASE WHEN kind <> 'regex' THEN categorize.normalize(value) END}), '0',
	'replicated rows carry this server\'s change_xid and value_norm');
@health = split /\|/, lag_row($shard1), 2;
is($health[0], 'ok', 'subscription_lag stays ok');
like($health[1], qr/last change applied -?[\d.]+ s after its commit on the publisher/,
	"subscription_lag reports the lag of the last applied change ($health[1])");

# case: a conflict: shard2 has its own pattern for everyone with the key a
# published one has (the learned key: owner, value_norm, category).  The
# apply stops at the duplicate key and retries; health() says so; deleting
# the local row lets it through
$shard2->safe_psql('postgres', q{
	INSERT INTO categorize.patterns (category_id, kind, value, source, hits) VALUES (5, 'merchant', 'Paul Bakery', 'learned', 2)});
my $log_offset = -s $shard2->logfile;
is($sessions[1]->query_safe(q{SELECT categorize.categorize('PAUL BAKERY', NULL)}), '5',
	'shard2 uses its local pattern for everyone');
$rules->safe_psql('postgres', q{
	INSERT INTO categorize.patterns (category_id, kind, value, source, hits) VALUES (5, 'merchant', 'paul bakery', 'learned', 2);
	INSERT INTO categorize.patterns (category_id, kind, value) VALUES (4, 'merchant', 'gails');});
$rules->wait_for_catchup('categorize_rules_shard1');
$shard2->wait_for_log(qr/duplicate key value violates unique constraint "patterns_learned_key"/, $log_offset);
pass('the conflicting row stops the apply on shard2 (duplicate learned key, in the server log)');
$shard2->poll_query_until('postgres', q{
	SELECT apply_error_count > 0 FROM pg_stat_subscription_stats WHERE subname = 'categorize_rules_shard2'})
  or die 'the conflicting apply was not counted';
@health = split /\|/, lag_row($shard2), 2;
isnt($health[0], 'ok', "subscription_lag on shard2 is $health[0] ($health[1])");
is($shard2->safe_psql('postgres', q{SELECT coalesce(categorize.categorize('GAILS', NULL)::text, '-')}), '-',
	'nothing of the failing transaction is applied on shard2');
is($shard1->safe_psql('postgres', q{SELECT categorize.categorize('GAILS', NULL)}), '4',
	'shard1 is not affected');
$shard2->safe_psql('postgres', q{DELETE FROM categorize.patterns WHERE value = 'Paul Bakery' AND id >= } . $BIG);
$rules->wait_for_catchup('categorize_rules_shard2');
is($sessions[1]->query_safe(q{SELECT categorize.categorize('PAUL BAKERY', NULL) || ',' || categorize.categorize('GAILS', NULL)}),
	'5,4', 'with the local row deleted the apply goes through and the session uses the published rows');
$shard2->safe_psql('postgres', q{
	SELECT pg_stat_reset_subscription_stats(oid) FROM pg_subscription WHERE subname = 'categorize_rules_shard2'});
@health = split /\|/, lag_row($shard2), 2;
is($health[0], 'ok', "subscription_lag is ok again once the statistics are reset ($health[1])");

# case: a subscriber restarts; a change after the restart is applied and used
$_->quit for @sessions;
$shard1->restart;
$rules->safe_psql('postgres', q{UPDATE categorize.patterns SET category_id = 1 WHERE value = 'gails'});
$rules->wait_for_catchup('categorize_rules_shard1');
is($shard1->safe_psql('postgres', q{SELECT categorize.categorize('GAILS', NULL)}), '1',
	'after a restart shard1 applies and uses a new change');

# case: shard2 is down while the rules change; it converges when it returns
$shard2->stop;
$rules->safe_psql('postgres', q{
	INSERT INTO categorize.patterns (category_id, kind, value) VALUES (3, 'merchant', 'texaco');
	UPDATE categorize.patterns SET category_id = 2 WHERE value = 'gails';
	DELETE FROM categorize.patterns WHERE kind = 'regex';
	UPDATE categorize.patterns SET active = false WHERE value LIKE 'merchant 1%';
	INSERT INTO categorize.categories (id, name) VALUES (6, 'Travel');
	INSERT INTO categorize.patterns (category_id, kind, value) VALUES (6, 'keyword', 'eurostar');
});
$rules->wait_for_catchup('categorize_rules_shard1');
$shard2->start;
$rules->wait_for_catchup('categorize_rules_shard2');
my $converged = q{
	SELECT string_agg(id || ':' || category_id || ':' || value || ':' || active, ',' ORDER BY id)
	  FROM categorize.patterns WHERE id < } . $BIG;
is($shard2->safe_psql('postgres', $converged), $rules->safe_psql('postgres', $converged . ' AND owner_id IS NULL'),
	'shard2, down while the rules changed, has the rules primary\'s patterns');
my $probe2 = q{SELECT coalesce(categorize.categorize('TEXACO', NULL)::text, '-') || ',' || coalesce(categorize.categorize('GAILS', NULL)::text, '-') || ','
	|| coalesce(categorize.categorize('Shell Oil 1', NULL)::text, '-') || ','
	|| coalesce(categorize.categorize(NULL, 'eurostar to paris')::text, '-')};
is($shard2->safe_psql('postgres', $probe2), '3,2,-,6', 'and categorizes with them');
is($shard2->safe_psql('postgres', $probe), $rules->safe_psql('postgres', $probe), 'shard2 agrees with the rules primary');
is($shard1->safe_psql('postgres', $probe), $rules->safe_psql('postgres', $probe), 'so does shard1');

# The coordinator: expenses partitioned by hash(user_id) over the shards
my $servers = '';
for my $i (1, 2)
{
	my $s = $shards[ $i - 1 ];
	my ($host, $port) = ($s->host, $s->port);
	$servers .= qq{
		CREATE SERVER shard$i FOREIGN DATA WRAPPER postgres_fdw
		    OPTIONS (host '$host', port '$port', dbname 'postgres', extensions 'categorize');
		CREATE USER MAPPING FOR CURRENT_USER SERVER shard$i;
	};
}
$coord->safe_psql('postgres', qq{
	CREATE EXTENSION postgres_fdw;
	$servers
	CREATE SEQUENCE expenses_id_seq;
	CREATE TABLE expenses (
	    id bigint NOT NULL DEFAULT nextval('expenses_id_seq'), user_id bigint NOT NULL,
	    merchant_name text, description text, amount numeric(12, 2),
	    category_id bigint, category_confidence real)
	    PARTITION BY HASH (user_id);
	CREATE FOREIGN TABLE expenses_shard1 PARTITION OF expenses
	    FOR VALUES WITH (MODULUS 2, REMAINDER 0) SERVER shard1 OPTIONS (table_name 'expenses');
	CREATE FOREIGN TABLE expenses_shard2 PARTITION OF expenses
	    FOR VALUES WITH (MODULUS 2, REMAINDER 1) SERVER shard2 OPTIONS (table_name 'expenses');
	CREATE TABLE expenses_categorized (
	    id bigint, user_id bigint NOT NULL, category_id bigint, category_now bigint)
	    PARTITION BY HASH (user_id);
	CREATE FOREIGN TABLE expenses_categorized_shard1 PARTITION OF expenses_categorized
	    FOR VALUES WITH (MODULUS 2, REMAINDER 0) SERVER shard1 OPTIONS (table_name 'expenses_categorized');
	CREATE FOREIGN TABLE expenses_categorized_shard2 PARTITION OF expenses_categorized
	    FOR VALUES WITH (MODULUS 2, REMAINDER 1) SERVER shard2 OPTIONS (table_name 'expenses_categorized');
	CREATE TABLE expense_corrections (expense_id bigint, user_id bigint NOT NULL, category_id bigint)
	    PARTITION BY HASH (user_id);
	CREATE FOREIGN TABLE expense_corrections_shard1 PARTITION OF expense_corrections
	    FOR VALUES WITH (MODULUS 2, REMAINDER 0) SERVER shard1 OPTIONS (table_name 'expense_corrections');
	CREATE FOREIGN TABLE expense_corrections_shard2 PARTITION OF expense_corrections
	    FOR VALUES WITH (MODULUS 2, REMAINDER 1) SERVER shard2 OPTIONS (table_name 'expense_corrections');
});

# Users 1..12 by shard, as the coordinator routes them
my %users;
for my $r (0, 1)
{
	$users{ $r + 1 } = [ split /\n/, $coord->safe_psql('postgres', qq{
		SELECT u FROM generate_series(1, 12) u
		 WHERE satisfies_hash_partition('expenses'::regclass, 2, $r, u::bigint) ORDER BY u}) ];
}
cmp_ok(scalar @{ $users{1} }, '>=', 2, 'at least two of users 1..12 live on shard1: ' . join(',', @{ $users{1} }));
cmp_ok(scalar @{ $users{2} }, '>=', 2, 'at least two of users 1..12 live on shard2: ' . join(',', @{ $users{2} }));
my ($a1, $a2) = @{ $users{1} };
my ($b1, $b2) = @{ $users{2} };

# case: INSERT through the coordinator lands on the owner's shard and fires its trigger
$coord->safe_psql('postgres', qq{
	INSERT INTO expenses (user_id, merchant_name, description, amount) VALUES
	    ($a1, 'POS STARBUCKS #12', NULL, 4.50),
	    ($a1, 'DAUNT BOOKS', 'marylebone', 12.00),
	    ($b1, 'TEXACO 44', NULL, 50.00),
	    ($b1, 'DAUNT BOOKS', 'marylebone', 12.00),
	    ($a2, 'GAILS BAKERY', NULL, 6.20),
	    ($b2, 'GAILS BAKERY', NULL, 6.20);
});
is($shard1->safe_psql('postgres', qq{
	SELECT string_agg(user_id || ':' || merchant_name || ':' || coalesce(category_id::text, '-'), ',' ORDER BY id) FROM expenses}),
	"$a1:POS STARBUCKS #12:4,$a1:DAUNT BOOKS:-,$a2:GAILS BAKERY:2",
	'rows inserted through the coordinator are on shard1, categorized by its trigger');
is($shard2->safe_psql('postgres', qq{
	SELECT string_agg(user_id || ':' || merchant_name || ':' || coalesce(category_id::text, '-'), ',' ORDER BY id) FROM expenses}),
	"$b1:TEXACO 44:3,$b1:DAUNT BOOKS:-,$b2:GAILS BAKERY:2",
	'and on shard2');
is($coord->safe_psql('postgres', qq{SELECT count(*) || ',' || count(category_id) FROM expenses}), '6,4',
	'the coordinator reads them all back, with the categories the shards set');

# case: what postgres_fdw ships.  categorize() is STABLE (its answer
# depends on the tables): postgres_fdw ships only IMMUTABLE functions, so
# neither form is sent to the shard, and the row form's whole-row reference
# would not be shippable anyway; the coordinator evaluates them itself.
# The IMMUTABLE parts of categorize (normalize, the match operators) are
# shipped, because the server names the extension.
my $plan = $coord->safe_psql('postgres', qq{EXPLAIN (VERBOSE, COSTS OFF) SELECT categorize.categorize(e) FROM expenses e WHERE user_id = $a1});
like($plan, qr/Output: categorize\.categorize\(\(e\.\*\)::expenses\)/, 'the row form is evaluated on the coordinator');
my ($remote) = $plan =~ /Remote SQL: (.*)/;
unlike($remote, qr/categorize/, "and is not in the remote SQL ($remote)");
$plan = $coord->safe_psql('postgres', qq{EXPLAIN (VERBOSE, COSTS OFF)
	SELECT categorize.categorize(merchant_name, description, amount, user_id) FROM expenses e WHERE user_id = $a1});
($remote) = $plan =~ /Remote SQL: (.*)/;
unlike($remote, qr/categorize/, "the values form is not shipped either ($remote)");
$plan = $coord->safe_psql('postgres', qq{EXPLAIN (VERBOSE, COSTS OFF)
	SELECT id FROM expenses WHERE user_id = $a1 AND merchant_name OPERATOR(categorize.\@~) 'daunt books'
	   AND categorize.normalize(description) = 'marylebone'});
($remote) = $plan =~ /Remote SQL: (.*)/;
like($remote, qr/OPERATOR\(categorize\.\@~\).*categorize\.\"?normalize\"?\(description\)/,
	"the match operator and normalize() are shipped ($remote)");
is($coord->safe_psql('postgres', qq{
	SELECT count(*) FROM expenses WHERE user_id = $a1 AND merchant_name OPERATOR(categorize.\@~) 'daunt books'}), '1',
	'and run on the shard');

# case: the route that does run categorize(e) on the shard: the shard's
# view expenses_categorized, reached through its own foreign partitions
$plan = $coord->safe_psql('postgres', qq{EXPLAIN (VERBOSE, COSTS OFF)
	SELECT id, category_now FROM expenses_categorized WHERE user_id = $a1});
($remote) = $plan =~ /Remote SQL: (.*)/;
like($remote, qr/SELECT id, category_now FROM public\.expenses_categorized WHERE \(\(user_id = $a1\)\)/,
	"the coordinator asks shard1's view for category_now ($remote)");
unlike($plan, qr/expenses_categorized_shard2/, 'and only shard1 (the other partition is pruned)');
my $shard_plan = $shard1->safe_psql('postgres', "EXPLAIN (VERBOSE, COSTS OFF) $remote");
like($shard_plan, qr/Output: e\.id, categorize\.categorize\(e\.\*\)/, 'which calls categorize(e) on the shard');

# case: a correction through the coordinator lands on the owner's shard
my $daunt = $coord->safe_psql('postgres', qq{SELECT id FROM expenses WHERE user_id = $a1 AND merchant_name = 'DAUNT BOOKS'});
$coord->safe_psql('postgres', qq{INSERT INTO expense_corrections VALUES ($daunt, $a1, 2)});
is($shard1->safe_psql('postgres', qq{
	SELECT count(*) FROM categorize.patterns WHERE owner_id = $a1 AND source = 'learned' AND value_norm = 'daunt books'}), '1',
	'the correction of a shard1 user is learned on shard1');
is($shard2->safe_psql('postgres', q{SELECT count(*) FROM categorize.patterns WHERE owner_id IS NOT NULL}) . ','
	. $rules->safe_psql('postgres', q{SELECT count(*) FROM categorize.patterns WHERE value_norm = 'daunt books'}) . ','
	. $coord->safe_psql('postgres', q{SELECT count(*) FROM categorize.corrections}), '0,0,0',
	'and nowhere else (shard2, the rules primary, the coordinator)');
is($coord->safe_psql('postgres', qq{
	SELECT category_id || ',' || coalesce(category_now::text, '-') FROM expenses_categorized WHERE id = $daunt AND user_id = $a1}), '2,2',
	'through the coordinator, the shard categorizes the user\'s expense with what the user taught');
is($coord->safe_psql('postgres', qq{
	SELECT coalesce(categorize.categorize(e)::text, '-') FROM expenses e WHERE id = $daunt AND user_id = $a1}), '-',
	'while the row form on the coordinator, which has not learned it, does not');
is($coord->safe_psql('postgres', qq{
	SELECT coalesce(category_now::text, '-') FROM expenses_categorized WHERE user_id = $b1 AND category_id IS NULL}), '-',
	'the same merchant of a shard2 user is not categorized');
my ($rc, $out, $err) = $coord->psql('postgres', qq{INSERT INTO expense_corrections VALUES ($daunt, $b1, 2)});
like($err, qr/expense \d+ of user $b1 is not on this shard/, 'a correction for an expense of another shard is refused');

# case: promotion counted over all shards.  Three users teach Paul's
# Patisserie as Bakery: two on shard1, one on shard2; no shard reaches
# promote_min_users (3) alone, and shards do not promote on their own.
# The coordinator counts over every shard's learned patterns and inserts
# the pattern for everyone on the rules primary, which publishes it.
for my $u ($a1, $a2, $b1)
{
	$coord->safe_psql('postgres', qq{
		INSERT INTO expenses (user_id, merchant_name, amount) VALUES ($u, 'PAULS PATISSERIE', 3.10);
		INSERT INTO expense_corrections
		    SELECT id, user_id, 5 FROM expenses WHERE user_id = $u AND merchant_name = 'PAULS PATISSERIE';});
}
is($shard1->safe_psql('postgres', q{SELECT count(*) FROM categorize.patterns WHERE value_norm = 'pauls patisserie' AND owner_id IS NULL}), '0',
	'no shard promoted the merchant on its own count');
my ($rhost, $rport) = ($rules->host, $rules->port);
$coord->safe_psql('postgres', qq{
	CREATE SERVER rules FOREIGN DATA WRAPPER postgres_fdw
	    OPTIONS (host '$rhost', port '$rport', dbname 'postgres', extensions 'categorize');
	CREATE USER MAPPING FOR CURRENT_USER SERVER rules;
	CREATE SCHEMA rules;
	CREATE FOREIGN TABLE rules.patterns (category_id bigint, kind text, value text, source text, hits bigint)
	    SERVER rules OPTIONS (schema_name 'categorize', table_name 'patterns');
	CREATE FOREIGN TABLE rules.categories (id bigint, owner_id bigint)
	    SERVER rules OPTIONS (schema_name 'categorize', table_name 'categories');
	CREATE SCHEMA shards;
	CREATE FOREIGN TABLE shards.learned_shard1 (owner_id bigint, kind text, value_norm text, category_id bigint,
	    source text, active boolean, amount_min numeric, amount_max numeric)
	    SERVER shard1 OPTIONS (schema_name 'categorize', table_name 'patterns');
	CREATE FOREIGN TABLE shards.learned_shard2 (owner_id bigint, kind text, value_norm text, category_id bigint,
	    source text, active boolean, amount_min numeric, amount_max numeric)
	    SERVER shard2 OPTIONS (schema_name 'categorize', table_name 'patterns');
	CREATE VIEW shards.learned AS
	    SELECT * FROM shards.learned_shard1 UNION ALL SELECT * FROM shards.learned_shard2;
});
my $promote = q{
	INSERT INTO rules.patterns (category_id, kind, value, source, hits)
	SELECT l.category_id, 'merchant', l.value_norm, 'learned', count(DISTINCT l.owner_id)
	  FROM shards.learned l
	 WHERE l.source = 'learned' AND l.kind = 'merchant' AND l.active AND l.owner_id IS NOT NULL
	   AND l.amount_min IS NULL AND l.amount_max IS NULL
	   AND l.category_id IN (SELECT id FROM rules.categories WHERE owner_id IS NULL)
	 GROUP BY l.value_norm, l.category_id
	HAVING count(DISTINCT l.owner_id) >= 3
	ON CONFLICT DO NOTHING};
$coord->safe_psql('postgres', $promote);
is($rules->safe_psql('postgres', q{
	SELECT string_agg(category_id || ':' || value || ':' || source, ',') FROM categorize.patterns
	 WHERE owner_id IS NULL AND source = 'learned' AND value_norm = 'pauls patisserie'}), '5:pauls patisserie:learned',
	'counted over both shards, three users promote the merchant on the rules primary');
$rules->wait_for_catchup("categorize_rules_$_") for map { $_->name } @shards;
is($shard2->safe_psql('postgres', qq{SELECT categorize.categorize('PAULS PATISSERIE', NULL, 3, $b2)}), '5',
	'a shard2 user who never taught it gets it');
is($shard1->safe_psql('postgres', q{SELECT categorize.categorize('PAULS PATISSERIE', NULL, 3, 12345)}), '5',
	'so does anyone on shard1');
$coord->safe_psql('postgres', $promote);
is($rules->safe_psql('postgres', q{SELECT count(*) FROM categorize.patterns WHERE value_norm = 'pauls patisserie'}), '1',
	'running the promotion again changes nothing');

# case: throughput through the coordinator and on one shard directly
# (measured, reported, not asserted): the same expenses of one user
$shard1->safe_psql('postgres', qq{
	INSERT INTO expenses (id, user_id, merchant_name, description, amount)
	SELECT 1000000 + g, $a1, 'merchant ' || (g % 500), 'card payment', g % 90 FROM generate_series(1, 200) g});
my $script_dir = PostgreSQL::Test::Utils::tempdir;
PostgreSQL::Test::Utils::append_to_file("$script_dir/shard.sql",
	qq{SELECT count(category_now) FROM expenses_categorized WHERE user_id = $a1;\n});
my %tps;
for my $round (1, 2)
{
	for my $target ([ 'coordinator', $coord ], [ 'shard', $shard1 ])
	{
		my ($name, $node) = @$target;
		local $ENV{PGOPTIONS} = '-c log_statement=none';
		my ($out, $err) = run_command(['pgbench', '-n', '-M', 'prepared', '-c', '1', '-t', '100',
			'-f', "$script_dir/shard.sql", '-h', $node->host, '-p', $node->port, 'postgres']);
		my ($tps) = $out =~ /tps = ([\d.]+) \(without initial connection time\)/;
		ok(defined $tps && $tps > 0, "$name round $round: pgbench ran (" . ($tps // 'no') . ' tps)')
		  or diag($err);
		$tps{$name} += ($tps // 0) / 2;
	}
}
my $rows = $shard1->safe_psql('postgres', qq{SELECT count(*) FROM expenses WHERE user_id = $a1});
note sprintf('categorize of one user\'s %d expenses a transaction (expenses_categorized): through the coordinator %.0f tps, on the shard %.0f tps, coordinator/shard = %.2f',
	$rows, $tps{coordinator}, $tps{shard}, $tps{shard} ? $tps{coordinator} / $tps{shard} : 0);

for my $node ($rules, @shards, $coord)
{
	unlike(slurp_file($node->logfile), qr/terminated by signal|PANIC|TRAP:/, $node->name . ': no backend crashed');
}
$_->stop for ($coord, @shards, $rules);
done_testing();
