-- bench/eval.sql: online evaluation of categorize on a labelled data set.
--
-- eval.stream(dataset) plays the rows of eval.rows in date order, as users
-- meet their transactions: for each expense it takes
-- categorize_detail(k => 3) and categorize(), and calls learn_correction()
-- whenever the top-1 is wrong or absent, committing after every expense.
-- eval.report(dataset) and eval.reliability(dataset) summarize the results.

CREATE SCHEMA IF NOT EXISTS eval;

CREATE TABLE IF NOT EXISTS eval.rows (
    dataset     text NOT NULL,
    seq         bigint NOT NULL,
    merchant    text,
    description text,
    amount      numeric,
    date        date NOT NULL,
    category    text NOT NULL,
    user_id     bigint,
    PRIMARY KEY (dataset, seq)
);

CREATE TABLE IF NOT EXISTS eval.results (
    dataset     text NOT NULL,
    seq         bigint NOT NULL,
    truth       bigint NOT NULL,
    predicted   bigint,
    confidence  real,
    correct     boolean NOT NULL,
    top3        boolean NOT NULL,
    categorized boolean NOT NULL,       -- categorize() returned a category
    learned     boolean NOT NULL,       -- learn_correction() was called
    kind        text,                   -- what decided the top-1 (pattern kind or model)
    reason      text,                   -- its explanation
    PRIMARY KEY (dataset, seq)
);

CREATE TABLE IF NOT EXISTS eval.timing (
    dataset     text PRIMARY KEY,
    rows        bigint,
    seconds     double precision
);

-- The categories of a data set: shared ones, named by label
CREATE OR REPLACE PROCEDURE eval.create_categories(p_dataset text)
LANGUAGE sql AS $$
    INSERT INTO categorize.categories (name)
    SELECT DISTINCT category FROM eval.rows WHERE dataset = p_dataset
    ON CONFLICT DO NOTHING;
$$;

CREATE OR REPLACE PROCEDURE eval.stream(p_dataset text)
LANGUAGE plpgsql AS $$
DECLARE
    r       record;
    top     bigint[];
    conf    real;
    k1      text;
    why     text;
    decided bigint;
    ok      boolean;
    t0      timestamptz := clock_timestamp();
    n       bigint := 0;
BEGIN
    DELETE FROM eval.results WHERE dataset = p_dataset;
    COMMIT;
    FOR r IN
        SELECT e.*, c.id AS truth
          FROM eval.rows e
          JOIN categorize.categories c ON c.name = e.category AND c.owner_id IS NULL
         WHERE e.dataset = p_dataset
         ORDER BY e.date, e.seq
    LOOP
        SELECT array_agg(d.category_id ORDER BY d.rank), (array_agg(d.confidence ORDER BY d.rank))[1],
               (array_agg(d.kind ORDER BY d.rank))[1], (array_agg(d.reason ORDER BY d.rank))[1]
          INTO top, conf, k1, why
          FROM categorize.categorize_detail(r.merchant, r.description, r.amount, r.user_id, 3) d;
        decided := categorize.categorize(r.merchant, r.description, r.amount, r.user_id);
        ok := coalesce(top[1] = r.truth, false);
        IF NOT ok THEN
            PERFORM categorize.learn_correction(r.merchant, r.description, r.amount,
                                                r.user_id, r.truth, r.seq);
        END IF;
        INSERT INTO eval.results
        VALUES (p_dataset, r.seq, r.truth, top[1], conf, ok,
                coalesce(r.truth = ANY (top), false), decided IS NOT NULL, NOT ok, k1, why);
        n := n + 1;
        COMMIT;
    END LOOP;
    INSERT INTO eval.timing VALUES (p_dataset, n, extract(epoch FROM clock_timestamp() - t0))
    ON CONFLICT (dataset) DO UPDATE SET rows = excluded.rows, seconds = excluded.seconds;
    COMMIT;
END;
$$;

-- Headline figures of a data set
CREATE OR REPLACE FUNCTION eval.report(p_dataset text)
RETURNS TABLE (dataset text, expenses bigint, top1_accuracy numeric, top3_accuracy numeric,
               correction_rate numeric, coverage numeric, precision_on_coverage numeric,
               expenses_per_second numeric)
LANGUAGE sql AS $$
    SELECT r.dataset, count(*),
           round(avg(r.correct::int), 4),
           round(avg(r.top3::int), 4),
           round(avg(r.learned::int), 4),
           round(avg(r.categorized::int), 4),
           round(avg(r.correct::int) FILTER (WHERE r.categorized), 4),
           round((max(t.rows) / nullif(max(t.seconds), 0))::numeric, 0)
      FROM eval.results r LEFT JOIN eval.timing t USING (dataset)
     WHERE r.dataset = p_dataset
     GROUP BY r.dataset;
$$;

-- Reliability table: confidence decile -> observed precision of the top-1
CREATE OR REPLACE FUNCTION eval.reliability(p_dataset text)
RETURNS TABLE (decile text, predictions bigint, mean_confidence numeric,
               observed_precision numeric, gap numeric, calibrated text)
LANGUAGE sql AS $$
    SELECT format('%s-%s', to_char(b / 10.0, 'FM0.0'), to_char((b + 1) / 10.0, 'FM0.0')),
           count(*),
           round(avg(confidence)::numeric, 3),
           round(avg(correct::int), 3),
           round(abs(avg(correct::int) - avg(confidence))::numeric, 3),
           CASE WHEN count(*) < 100 THEN 'n<100'
                WHEN abs(avg(correct::int) - avg(confidence)) <= 0.08 THEN 'yes'
                ELSE 'NO' END
      FROM (SELECT least(floor(confidence * 10)::int, 9) AS b, confidence, correct
              FROM eval.results
             WHERE dataset = p_dataset AND predicted IS NOT NULL) s
     GROUP BY b ORDER BY b;
$$;
