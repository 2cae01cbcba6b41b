# CategorizeSample -- the sample that the TAP tests of dump/restore and
# pg_upgrade carry across: categories (one of them an owner's, one a child),
# a merchant pattern with an amount range and a regex pattern, an owner's
# correction with an expense id and a single-tenant one; the query that
# snapshots those rows; and the answers that must not change.
package CategorizeSample;
use strict;
use warnings;
use Exporter 'import';

our @EXPORT = qw($sample_sql $sample_snapshot $sample_answers);

# Run in a database without the extension
our $sample_sql = q{
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
};

# One line of text; more terms can be appended with || ' / ' || (...)
our $sample_snapshot = q{
	SELECT (SELECT string_agg(format('%s|%s|%s|%s', id, name, parent_id, owner_id), ';' ORDER BY id) FROM categorize.categories)
	    || ' / ' ||
	    (SELECT string_agg(format('%s|%s|%s|%s|%s|%s|%s|%s', id, category_id, kind, value, amount_max, owner_id, source, hits), ';' ORDER BY id) FROM categorize.patterns)
	    || ' / ' ||
	    (SELECT string_agg(format('%s|%s|%s|%s|%s|%s', id, owner_id, expense_id, merchant_name, amount, to_category_id), ';' ORDER BY id) FROM categorize.corrections)
};

# The pattern, the owner's learned merchant, the regex
our $sample_answers = q{
	SELECT categorize.categorize('STARBUCKS', NULL, 5) || ',' ||
	       categorize.categorize('Daunt Books', NULL, NULL, 7) || ',' ||
	       categorize.categorize(NULL, 'Waterstones Piccadilly')
};

1;
