WITH c_orders AS (
  SELECT CAST(date_trunc('week', t.created_at) AS DATE) AS period_start, d_channel, count(*) FILTER (WHERE coalesce(is_complaint, FALSE)) AS complaints
  FROM (SELECT t.channel AS d_channel, t.created_at, t.is_complaint FROM ticket_facts t
    WHERE ((t.created_at >= $lo0 AND t.created_at < $hi1))) t
  GROUP BY ALL
),
o_orders AS (
  SELECT CAST(date_trunc('week', CAST(od.order_date AS TIMESTAMP)) AS DATE) AS period_start, d_channel, sum(od.orders) AS orders
  FROM (SELECT od.channel AS d_channel, od.order_date, od.orders FROM orders_daily od
    WHERE ((CAST(od.order_date AS TIMESTAMP) >= $lo2 AND CAST(od.order_date AS TIMESTAMP) < $hi3))) od
  GROUP BY ALL
),
a_orders AS (
  SELECT coalesce(c.period_start, o.period_start) AS period_start, coalesce(c.d_channel, o.d_channel) AS d_channel,
    coalesce(c.complaints, 0) AS complaints_per_1k_orders__num, o.orders AS complaints_per_1k_orders__den, coalesce(o.orders, 0) AS complaints_per_1k_orders__n
  FROM c_orders c FULL JOIN o_orders o ON c.period_start = o.period_start AND c.d_channel IS NOT DISTINCT FROM o.d_channel
)
SELECT 'complaints_per_1k_orders' AS kpi, period_start, d_channel, CAST(complaints_per_1k_orders__num AS DOUBLE) AS numerator, CAST(complaints_per_1k_orders__den AS DOUBLE) AS denominator, CAST(complaints_per_1k_orders__n AS BIGINT) AS n_records, NULL::DOUBLE AS sumsq, NULL::DOUBLE[] AS aux, NULL::DOUBLE[] AS quantiles, []::BIGINT[] AS excluded, NULL::BIGINT[] AS basis, NULL::BIGINT AS evidence
  FROM a_orders;

-- parameters:
--   $lo0 = datetime.datetime(2023, 1, 1, 0, 0)
--   $hi1 = datetime.datetime(2024, 7, 1, 0, 0)
--   $lo2 = datetime.datetime(2023, 1, 1, 0, 0)
--   $hi3 = datetime.datetime(2024, 7, 1, 0, 0)
