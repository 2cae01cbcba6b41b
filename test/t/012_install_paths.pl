# The two ways of installing the default version leave the same database:
# CREATE EXTENSION categorize (the full script, sql/categorize--1.1.sql) in
# one database, and CREATE EXTENSION categorize VERSION '1.0' followed by
# ALTER EXTENSION categorize UPDATE (categorize--1.0.sql, then the update
# scripts) in another.
#
# A plain pg_dump shows an extension as its CREATE EXTENSION only, not its
# objects; pg_dump --binary-upgrade (what pg_upgrade restores from) writes
# every member with its definition, comment, owner and privileges, the
# privileges the scripts left (pg_init_privs) and its membership (ALTER
# EXTENSION ADD).  Both schema-only dumps must be identical once what
# belongs to the database rather than to its objects is masked (OIDs,
# transaction ids, LSNs, psql's \restrict key).  Then the catalog facts that
# neither dump shows as such: the tables and sequences pg_dump dumps the
# rows of (extconfig, extcondition, compared by name in any order), the
# number and list of members, pg_init_privs, the ACLs as stored (NULL and
# an explicit default are different catalogs), the rows the scripts insert.
#
# sql/upgrade_walk.sql compares digests of the objects' definitions of the
# same two paths; this test also covers comments, privileges as recorded
# and pg_dump's view of the extension.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('install_paths');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'categorize'");
$node->start;

my $default_version = $node->safe_psql('postgres',
	q{SELECT default_version FROM pg_available_extensions WHERE name = 'categorize'});
my $sharedir = $node->config_data('--sharedir');
ok(-f "$sharedir/extension/categorize--$default_version.sql",
	"a full install script of $default_version is installed (else both paths would be the same)");

$node->safe_psql('postgres', q{CREATE DATABASE direct; CREATE DATABASE updated;});
$node->safe_psql('direct', q{CREATE EXTENSION categorize});
$node->safe_psql('updated', q{CREATE EXTENSION categorize VERSION '1.0'});
$node->safe_psql('updated', q{ALTER EXTENSION categorize UPDATE});
for my $db ('direct', 'updated')
{
	is($node->safe_psql($db, q{SELECT extversion FROM pg_extension WHERE extname = 'categorize'}),
		$default_version, "$db: categorize $default_version");
}

# A schema-only dump of a database, with the values masked that belong to
# the database rather than to its objects
sub dump_schema
{
	my ($db, @options) = @_;
	my $file = $node->basedir . "/$db" . join('', @options) . '.sql';
	$node->command_ok(
		[ 'pg_dump', '--schema-only', '--no-sync', @options, '-d', $node->connstr($db), '-f', $file ],
		"pg_dump --schema-only @options of $db");
	my $text = slurp_file($file);
	$text =~ s/^\\(restrict|unrestrict) \S+$/\\$1 <key>/mg;
	$text =~ s/'\d+'::pg_catalog\.oid\b/'<oid>'::pg_catalog.oid/g;
	$text =~ s/^WHERE oid = '\d+';$/WHERE oid = '<oid>';/mg;
	# the extconfig of binary_upgrade_create_empty_extension()
	$text =~ s/'\{\d+(,\d+)*\}'/'{<oids>}'/g;
	$text =~ s/relfrozenxid = '\d+', relminmxid = '\d+'/relfrozenxid = '<xid>', relminmxid = '<mxid>'/g;
	$text =~ s#\b[0-9A-F]+/[0-9A-F]+\b(?=[,}][^\n]*::pg_catalog\.pg_lsn\[\])#<lsn>#g;
	open(my $fh, '>', "$file.masked") or die "cannot write $file.masked: $!";
	print $fh $text;
	close($fh);
	return ($text, "$file.masked");
}

# Compare two texts written to files; show the differences when they differ
sub same_text
{
	my ($left, $right, $name) = @_;
	my ($diff) = run_command([ 'diff', '-u', $left->[1], $right->[1] ]);
	diag("differences:\n$diff") if $diff ne '';
	ok($diff eq '', $name);
}

for my $options ([], ['--binary-upgrade'])
{
	my @direct = dump_schema('direct', @$options);
	my @updated = dump_schema('updated', @$options);
	same_text(\@direct, \@updated, "pg_dump --schema-only @$options: the same after both install paths");
	if (!@$options)
	{
		like($direct[0], qr/^CREATE EXTENSION IF NOT EXISTS categorize WITH SCHEMA categorize;$/m,
			'the plain dump creates the extension');
	}
	else
	{
		# the dump names the members, else the comparison proves nothing
		like($direct[0], qr/ALTER EXTENSION categorize ADD TABLE categorize\.change_signal;/,
			'the binary-upgrade dump holds the members of the extension');
		like($direct[0], qr/binary_upgrade_set_record_init_privs\(true\)/,
			'the binary-upgrade dump holds the privileges the scripts left');
	}
}

# Catalog facts, one a line, in a stable order
my $facts = q{
	WITH x AS (SELECT * FROM pg_extension WHERE extname = 'categorize'),
	nsp AS (SELECT 'categorize'::regnamespace AS oid),
	members AS (
	    SELECT pg_describe_object(d.classid, d.objid, d.objsubid) AS object
	      FROM pg_depend d, x
	     WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = x.oid AND d.deptype = 'e')
	SELECT f.line FROM (
	    SELECT 1 AS section, format('version %s, relocatable %s, schema %s, owner %s',
	                                x.extversion, x.extrelocatable, x.extnamespace::regnamespace,
	                                x.extowner::regrole) AS line
	      FROM x
	    UNION ALL
	    SELECT 2, format('dumped by pg_dump: %s where %L', c.oid::regclass, c.cond)
	      FROM x, unnest(x.extconfig, x.extcondition) AS c(oid, cond)
	    UNION ALL
	    SELECT 3, format('%s members', count(*)) FROM members
	    UNION ALL
	    SELECT 4, 'member: ' || m.object FROM members m
	    UNION ALL
	    SELECT 5, format('initial privileges (%s) of %s: %s', i.privtype,
	                     pg_describe_object(i.classoid, i.objoid, i.objsubid), i.initprivs)
	      FROM pg_init_privs i WHERE i.privtype = 'e'
	    UNION ALL
	    SELECT 6, format('ACL of %s: %s', c.oid::regclass, coalesce(c.relacl::text, 'NULL'))
	      FROM pg_class c, nsp WHERE c.relnamespace = nsp.oid
	    UNION ALL
	    SELECT 6, format('ACL of %s: %s', p.oid::regprocedure, coalesce(p.proacl::text, 'NULL'))
	      FROM pg_proc p, nsp WHERE p.pronamespace = nsp.oid
	    UNION ALL
	    SELECT 6, format('ACL of type %s: %s', t.oid::regtype, coalesce(t.typacl::text, 'NULL'))
	      FROM pg_type t, nsp WHERE t.typnamespace = nsp.oid
	    UNION ALL
	    SELECT 6, format('ACL of schema %s: %s', n.nspname, coalesce(n.nspacl::text, 'NULL'))
	      FROM pg_namespace n, nsp WHERE n.oid = nsp.oid
	    UNION ALL
	    SELECT 7, format('%s row(s) in categorize.reload_epoch', count(*)) FROM categorize.reload_epoch
	) f
	ORDER BY f.section, f.line COLLATE "C";
};
my @facts;
for my $db ('direct', 'updated')
{
	my $file = $node->basedir . "/$db.facts";
	my $text = $node->safe_psql($db, $facts);
	open(my $fh, '>', $file) or die "cannot write $file: $!";
	print $fh "$text\n";
	close($fh);
	push @facts, [ $text, $file ];
}
same_text(@facts, 'the catalog facts are the same after both install paths');
like($facts[0][0], qr/^dumped by pg_dump: categorize\.categories where ''$/m,
	'the facts name the tables pg_dump dumps');
like($facts[0][0], qr/^\d+ members$/m, 'the facts count the members');

$node->stop;
done_testing();
