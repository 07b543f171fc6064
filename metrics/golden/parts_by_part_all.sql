WITH b_parts AS (
    SELECT t.part_no AS d_part_no, t.started_at AS ts, t.*
    FROM part_facts t
    WHERE ((t.started_at >= $lo0 AND t.started_at < $hi1))
),
a_parts AS (
  SELECT CAST($period2 AS DATE) AS period_start, d_part_no,
    sum(f1) FILTER (WHERE f0) AS parts_consumption__num,
    NULL::DOUBLE AS parts_consumption__den,
    count_if(f0) AS parts_consumption__n,
    sum(f3) FILTER (WHERE f2) AS parts_cost__num,
    NULL::DOUBLE AS parts_cost__den,
    count_if(f2) AS parts_cost__n,
    count_if(f4) AS parts_cost__x_unit_cost_missing
  FROM (SELECT ts, d_part_no,
      (TRUE) AS f0,
      quantity AS f1,
      (TRUE) AND NOT (coalesce(unit_cost IS NULL, FALSE)) AS f2,
      quantity * unit_cost AS f3,
      (TRUE) AND coalesce(unit_cost IS NULL, FALSE) AS f4
    FROM b_parts)
  GROUP BY ALL
)
SELECT 'parts_consumption' AS kpi, period_start, d_part_no, CAST(parts_consumption__num AS DOUBLE) AS numerator, CAST(parts_consumption__den AS DOUBLE) AS denominator, CAST(parts_consumption__n AS BIGINT) AS n_records, NULL::DOUBLE AS sumsq, NULL::DOUBLE[] AS aux, NULL::DOUBLE[] AS quantiles, []::BIGINT[] AS excluded, NULL::BIGINT[] AS basis, NULL::BIGINT AS evidence
  FROM a_parts
UNION ALL BY NAME
SELECT 'parts_cost' AS kpi, period_start, d_part_no, CAST(parts_cost__num AS DOUBLE) AS numerator, CAST(parts_cost__den AS DOUBLE) AS denominator, CAST(parts_cost__n AS BIGINT) AS n_records, NULL::DOUBLE AS sumsq, NULL::DOUBLE[] AS aux, NULL::DOUBLE[] AS quantiles, [parts_cost__x_unit_cost_missing]::BIGINT[] AS excluded, NULL::BIGINT[] AS basis, NULL::BIGINT AS evidence
  FROM a_parts;

-- parameters:
--   $lo0 = datetime.datetime(2023, 1, 1, 0, 0)
--   $hi1 = datetime.datetime(2024, 7, 1, 0, 0)
--   $period2 = datetime.datetime(2023, 1, 1, 0, 0)
