WITH as_of AS (SELECT max(created_at) AS ts FROM tickets),
b_created AS (
    SELECT t.region AS d_region, t.created_at AS ts, t.*
    FROM ticket_facts t
    WHERE ((t.created_at >= $lo0 AND t.created_at < $hi1))
),
a_created AS (
  SELECT CAST(date_trunc('month', ts) AS DATE) AS period_start, d_region,
    count_if(f0) AS ticket_volume__num,
    NULL::DOUBLE AS ticket_volume__den,
    ticket_volume__num AS ticket_volume__n,
    count_if(f2) AS complaint_rate__num,
    count_if(f1) AS complaint_rate__den,
    complaint_rate__den AS complaint_rate__n,
    count_if(f3) AS complaint_rate__x_is_complaint_missing,
    quantile_cont(f5, [0.5, 0.3, 0.43, 0.48, 0.52, 0.57, 0.7]) FILTER (WHERE f4) AS first_response_time__q,
    count(f5) FILTER (WHERE f4) AS first_response_time__n,
    count_if(f6) AS first_response_time__x_not_yet_responded,
    count_if(f7) AS first_response_time__x_first_response_missing,
    count_if(f8) AS first_response_time__x_responded_before_created
  FROM (SELECT ts, d_region,
      (TRUE) AS f0,
      (TRUE) AND NOT (coalesce(is_complaint IS NULL, FALSE)) AS f1,
      (TRUE) AND NOT (coalesce(is_complaint IS NULL, FALSE)) AND coalesce(is_complaint, FALSE) AS f2,
      (TRUE) AND coalesce(is_complaint IS NULL, FALSE) AS f3,
      (status <> 'cancelled') AND NOT (coalesce(first_response_at IS NULL AND status IN ('open', 'dispatched', 'in_progress'), FALSE) OR coalesce(first_response_at IS NULL, FALSE) OR coalesce(first_response_at < created_at, FALSE)) AS f4,
      CAST(epoch(first_response_at - created_at) / 3600.0 AS DOUBLE) AS f5,
      (status <> 'cancelled') AND coalesce(first_response_at IS NULL AND status IN ('open', 'dispatched', 'in_progress'), FALSE) AS f6,
      (status <> 'cancelled') AND coalesce(first_response_at IS NULL, FALSE) AND NOT coalesce(first_response_at IS NULL AND status IN ('open', 'dispatched', 'in_progress'), FALSE) AS f7,
      (status <> 'cancelled') AND coalesce(first_response_at < created_at, FALSE) AND NOT coalesce(first_response_at IS NULL AND status IN ('open', 'dispatched', 'in_progress'), FALSE) AND NOT coalesce(first_response_at IS NULL, FALSE) AS f8
    FROM b_created)
  GROUP BY ALL
),
c_orders AS (
  SELECT CAST(date_trunc('month', t.created_at) AS DATE) AS period_start, d_region, count(*) FILTER (WHERE coalesce(is_complaint, FALSE)) AS complaints
  FROM (SELECT t.region AS d_region, t.created_at, t.is_complaint FROM ticket_facts t
    WHERE ((t.created_at >= $lo2 AND t.created_at < $hi3))) t
  GROUP BY ALL
),
o_orders AS (
  SELECT CAST(date_trunc('month', CAST(od.order_date AS TIMESTAMP)) AS DATE) AS period_start, d_region, sum(od.orders) AS orders
  FROM (SELECT t.region AS d_region, od.order_date, od.orders FROM orders_daily od
    WHERE ((CAST(od.order_date AS TIMESTAMP) >= $lo4 AND CAST(od.order_date AS TIMESTAMP) < $hi5))) od
  GROUP BY ALL
),
a_orders AS (
  SELECT coalesce(c.period_start, o.period_start) AS period_start, coalesce(c.d_region, o.d_region) AS d_region,
    coalesce(c.complaints, 0) AS complaints_per_1k_orders__num, o.orders AS complaints_per_1k_orders__den, coalesce(o.orders, 0) AS complaints_per_1k_orders__n
  FROM c_orders c FULL JOIN o_orders o ON c.period_start = o.period_start AND c.d_region IS NOT DISTINCT FROM o.d_region
),
sel_repair AS (
    SELECT t.region AS d_region, t.resolved_at AS ts, t.*
    FROM ticket_facts t
    WHERE ((t.resolved_at >= $lo8 AND t.resolved_at < $hi9)) AND t.status <> 'cancelled' AND t.resolution IS DISTINCT FROM 'cancelled' AND t.service_type = 'repair'
    UNION ALL
    SELECT t.region AS d_region, t.created_at AS ts, t.*
    FROM ticket_facts t
    WHERE t.resolved_at IS NULL AND t.status IN ('resolved', 'closed') AND ((t.created_at >= $lo6 AND t.created_at < $hi7)) AND t.status <> 'cancelled' AND t.resolution IS DISTINCT FROM 'cancelled' AND t.service_type = 'repair'
),
b_repair AS (
    SELECT * FROM sel_repair
),
a_repair AS (
  SELECT CAST(date_trunc('month', ts) AS DATE) AS period_start, d_region,
    count_if(f1) AS repair_success_rate__num,
    count_if(f0) AS repair_success_rate__den,
    repair_success_rate__den AS repair_success_rate__n,
    count_if(f2) AS repair_success_rate__x_resolved_at_missing,
    count_if(f3) AS repair_success_rate__x_resolution_missing,
    count_if(f4) AS repair_success_rate__x_customer_or_model_missing,
    count_if(f6) AS first_time_fix_rate__num,
    count_if(f5) AS first_time_fix_rate__den,
    first_time_fix_rate__den AS first_time_fix_rate__n,
    count_if(f7) AS first_time_fix_rate__b_visit1,
    count_if(f8) AS first_time_fix_rate__b_reopen_count,
    count_if(f2) AS first_time_fix_rate__x_resolved_at_missing,
    count_if(f3) AS first_time_fix_rate__x_resolution_missing,
    count_if(f9) AS first_time_fix_rate__x_no_first_visit,
    sum(f11) FILTER (WHERE f10) AS mttr__num,
    count(f11) FILTER (WHERE f10) AS mttr__den,
    mttr__den AS mttr__n,
    sum(f11 * f11) FILTER (WHERE f10) AS mttr__ss,
    count_if(f2) AS mttr__x_resolved_at_missing,
    count_if(f12) AS mttr__x_resolved_before_created,
    quantile_cont(f11, [0.5, 0.3, 0.43, 0.48, 0.52, 0.57, 0.7]) FILTER (WHERE f10) AS mttr_median__q,
    count(f11) FILTER (WHERE f10) AS mttr_median__n,
    count_if(f2) AS mttr_median__x_resolved_at_missing,
    count_if(f12) AS mttr_median__x_resolved_before_created,
    quantile_cont(f11, [0.9, 0.7, 0.83, 0.88, 0.92, 0.97, 1.0]) FILTER (WHERE f10) AS mttr_p90__q,
    count(f11) FILTER (WHERE f10) AS mttr_p90__n,
    count_if(f2) AS mttr_p90__x_resolved_at_missing,
    count_if(f12) AS mttr_p90__x_resolved_before_created,
    count_if(f14) AS repeat_repair_rate__num,
    count_if(f13) AS repeat_repair_rate__den,
    repeat_repair_rate__den AS repeat_repair_rate__n,
    count_if(f2) AS repeat_repair_rate__x_resolved_at_missing,
    count_if(f15) AS repeat_repair_rate__x_customer_or_model_missing
  FROM (SELECT ts, d_region,
      (TRUE) AND NOT (coalesce(resolved_at IS NULL, FALSE) OR coalesce(resolution IS NULL, FALSE) OR coalesce(customer_id IS NULL OR product_model IS NULL, FALSE)) AS f0,
      (TRUE) AND NOT (coalesce(resolved_at IS NULL, FALSE) OR coalesce(resolution IS NULL, FALSE) OR coalesce(customer_id IS NULL OR product_model IS NULL, FALSE)) AND coalesce(resolution = 'fixed' AND NOT coalesce(next_repair_at <= resolved_at + INTERVAL 30 DAY, FALSE), FALSE) AS f1,
      (TRUE) AND coalesce(resolved_at IS NULL, FALSE) AS f2,
      (TRUE) AND coalesce(resolution IS NULL, FALSE) AND NOT coalesce(resolved_at IS NULL, FALSE) AS f3,
      (TRUE) AND coalesce(customer_id IS NULL OR product_model IS NULL, FALSE) AND NOT coalesce(resolved_at IS NULL, FALSE) AND NOT coalesce(resolution IS NULL, FALSE) AS f4,
      (TRUE) AND NOT (coalesce(resolved_at IS NULL, FALSE) OR coalesce(resolution IS NULL, FALSE) OR coalesce(NOT has_visit1 AND reopen_count IS NULL, FALSE)) AS f5,
      (TRUE) AND NOT (coalesce(resolved_at IS NULL, FALSE) OR coalesce(resolution IS NULL, FALSE) OR coalesce(NOT has_visit1 AND reopen_count IS NULL, FALSE)) AND coalesce(resolution = 'fixed' AND CASE WHEN has_visit1 THEN visit1_outcome = 'fixed' ELSE reopen_count = 0 END, FALSE) AS f6,
      (TRUE) AND NOT (coalesce(resolved_at IS NULL, FALSE) OR coalesce(resolution IS NULL, FALSE) OR coalesce(NOT has_visit1 AND reopen_count IS NULL, FALSE)) AND coalesce(has_visit1, FALSE) AS f7,
      (TRUE) AND NOT (coalesce(resolved_at IS NULL, FALSE) OR coalesce(resolution IS NULL, FALSE) OR coalesce(NOT has_visit1 AND reopen_count IS NULL, FALSE)) AND coalesce(NOT has_visit1, FALSE) AS f8,
      (TRUE) AND coalesce(NOT has_visit1 AND reopen_count IS NULL, FALSE) AND NOT coalesce(resolved_at IS NULL, FALSE) AND NOT coalesce(resolution IS NULL, FALSE) AS f9,
      (TRUE) AND NOT (coalesce(resolved_at IS NULL, FALSE) OR coalesce(resolved_at < created_at, FALSE)) AS f10,
      CAST(epoch(resolved_at - created_at) / 3600.0 AS DOUBLE) AS f11,
      (TRUE) AND coalesce(resolved_at < created_at, FALSE) AND NOT coalesce(resolved_at IS NULL, FALSE) AS f12,
      (TRUE) AND NOT (coalesce(resolved_at IS NULL, FALSE) OR coalesce(customer_id IS NULL OR product_model IS NULL, FALSE)) AS f13,
      (TRUE) AND NOT (coalesce(resolved_at IS NULL, FALSE) OR coalesce(customer_id IS NULL OR product_model IS NULL, FALSE)) AND coalesce(coalesce(next_repair_at <= resolved_at + INTERVAL 30 DAY, FALSE), FALSE) AS f14,
      (TRUE) AND coalesce(customer_id IS NULL OR product_model IS NULL, FALSE) AND NOT coalesce(resolved_at IS NULL, FALSE) AS f15
    FROM b_repair)
  GROUP BY ALL
),
sel_resolved AS (
    SELECT t.region AS d_region, t.resolved_at AS ts, t.*
    FROM ticket_facts t
    WHERE ((t.resolved_at >= $lo12 AND t.resolved_at < $hi13)) AND t.status <> 'cancelled' AND t.resolution IS DISTINCT FROM 'cancelled'
    UNION ALL
    SELECT t.region AS d_region, t.created_at AS ts, t.*
    FROM ticket_facts t
    WHERE t.resolved_at IS NULL AND t.status IN ('resolved', 'closed') AND ((t.created_at >= $lo10 AND t.created_at < $hi11)) AND t.status <> 'cancelled' AND t.resolution IS DISTINCT FROM 'cancelled'
),
b_resolved AS (
    SELECT * FROM sel_resolved
),
a_resolved AS (
  SELECT CAST(date_trunc('month', ts) AS DATE) AS period_start, d_region,
    quantile_cont(f1, [0.5, 0.3, 0.43, 0.48, 0.52, 0.57, 0.7]) FILTER (WHERE f0) AS refund_cycle_time__q,
    count(f1) FILTER (WHERE f0) AS refund_cycle_time__n,
    count_if(f2) AS refund_cycle_time__x_resolved_at_missing,
    count_if(f3) AS refund_cycle_time__x_refunded_at_missing,
    count_if(f4) AS refund_cycle_time__x_refunded_before_requested,
    count_if(f6) AS reopen_rate__num,
    count_if(f5) AS reopen_rate__den,
    reopen_rate__den AS reopen_rate__n,
    count_if(f7) AS reopen_rate__b_reopened_at,
    count_if(f8) AS reopen_rate__b_reopen_count,
    count_if(f9) AS reopen_rate__ev,
    count_if(f10) AS reopen_rate__x_resolved_at_missing
  FROM (SELECT ts, d_region,
      (service_type = 'refund') AND NOT (coalesce(resolved_at IS NULL, FALSE) OR coalesce(refunded_at IS NULL, FALSE) OR coalesce(refunded_at < coalesce(refund_requested_at, created_at), FALSE)) AS f0,
      CAST(epoch(refunded_at - coalesce(refund_requested_at, created_at)) / 3600.0 AS DOUBLE) AS f1,
      (service_type = 'refund') AND coalesce(resolved_at IS NULL, FALSE) AS f2,
      (service_type = 'refund') AND coalesce(refunded_at IS NULL, FALSE) AND NOT coalesce(resolved_at IS NULL, FALSE) AS f3,
      (service_type = 'refund') AND coalesce(refunded_at < coalesce(refund_requested_at, created_at), FALSE) AND NOT coalesce(resolved_at IS NULL, FALSE) AND NOT coalesce(refunded_at IS NULL, FALSE) AS f4,
      (TRUE) AND NOT (coalesce(resolved_at IS NULL, FALSE)) AS f5,
      (TRUE) AND NOT (coalesce(resolved_at IS NULL, FALSE)) AND coalesce(coalesce(reopened_at <= resolved_at + INTERVAL 30 DAY, FALSE) OR coalesce(reopen_count > 0, FALSE), FALSE) AS f6,
      (TRUE) AND NOT (coalesce(resolved_at IS NULL, FALSE)) AND coalesce(reopen_count IS NULL, FALSE) AS f7,
      (TRUE) AND NOT (coalesce(resolved_at IS NULL, FALSE)) AND coalesce(reopen_count IS NOT NULL, FALSE) AS f8,
      (TRUE) AND coalesce(reopened_at IS NOT NULL OR reopen_count IS NOT NULL, FALSE) AS f9,
      (TRUE) AND coalesce(resolved_at IS NULL, FALSE) AS f10
    FROM b_resolved)
  GROUP BY ALL
),
b_responses AS (
    SELECT t.region AS d_region, t.responded_at AS ts, t.*
    FROM survey_facts t
    WHERE ((t.responded_at >= $lo14 AND t.responded_at < $hi15))
),
a_responses AS (
  SELECT CAST(date_trunc('month', ts) AS DATE) AS period_start, d_region,
    count_if(f1) AS csat__num,
    count_if(f0) AS csat__den,
    csat__den AS csat__n,
    count_if(f2) AS csat__x_no_satisfaction,
    sum(f3) FILTER (WHERE f0) AS csat_mean__num,
    count(f3) FILTER (WHERE f0) AS csat_mean__den,
    csat_mean__den AS csat_mean__n,
    sum(f3 * f3) FILTER (WHERE f0) AS csat_mean__ss,
    count_if(f2) AS csat_mean__x_no_satisfaction,
    count_if(f5) AS nps__a1,
    count_if(f6) AS nps__a2,
    nps__a1 - nps__a2 AS nps__num,
    count_if(f4) AS nps__den,
    nps__den AS nps__n,
    count_if(f7) AS nps__x_no_nps
  FROM (SELECT ts, d_region,
      (TRUE) AND NOT (coalesce(satisfaction IS NULL, FALSE)) AS f0,
      (TRUE) AND NOT (coalesce(satisfaction IS NULL, FALSE)) AND coalesce(satisfaction >= 4, FALSE) AS f1,
      (TRUE) AND coalesce(satisfaction IS NULL, FALSE) AS f2,
      CAST(satisfaction AS DOUBLE) AS f3,
      (TRUE) AND NOT (coalesce(nps IS NULL, FALSE)) AS f4,
      (TRUE) AND NOT (coalesce(nps IS NULL, FALSE)) AND coalesce(nps >= 9, FALSE) AS f5,
      (TRUE) AND NOT (coalesce(nps IS NULL, FALSE)) AND coalesce(nps <= 6, FALSE) AS f6,
      (TRUE) AND coalesce(nps IS NULL, FALSE) AS f7
    FROM b_responses)
  GROUP BY ALL
),
sel_closed AS (
    SELECT t.region AS d_region, t.closed_at AS ts, t.*
    FROM ticket_facts t
    WHERE ((t.closed_at >= $lo18 AND t.closed_at < $hi19)) AND TRUE
    UNION ALL
    SELECT t.region AS d_region, t.created_at AS ts, t.*
    FROM ticket_facts t
    WHERE t.closed_at IS NULL AND t.status IN ('closed') AND ((t.created_at >= $lo16 AND t.created_at < $hi17)) AND TRUE
),
b_closed AS (
    SELECT * FROM sel_closed
),
a_closed AS (
  SELECT CAST(date_trunc('month', ts) AS DATE) AS period_start, d_region,
    count_if(f1) AS survey_response_rate__num,
    count_if(f0) AS survey_response_rate__den,
    survey_response_rate__den AS survey_response_rate__n,
    count_if(f2) AS survey_response_rate__ev,
    count_if(f3) AS survey_response_rate__x_closed_at_missing,
    sum(f5) FILTER (WHERE f4) AS complaint_handling_hours__num,
    count(f5) FILTER (WHERE f4) AS complaint_handling_hours__den,
    complaint_handling_hours__den AS complaint_handling_hours__n,
    sum(f5 * f5) FILTER (WHERE f4) AS complaint_handling_hours__ss,
    count_if(f6) AS complaint_handling_hours__x_closed_at_missing,
    count_if(f7) AS complaint_handling_hours__x_closed_before_created,
    quantile_cont(f5, [0.5, 0.3, 0.43, 0.48, 0.52, 0.57, 0.7]) FILTER (WHERE f4) AS complaint_handling_median__q,
    count(f5) FILTER (WHERE f4) AS complaint_handling_median__n,
    count_if(f6) AS complaint_handling_median__x_closed_at_missing,
    count_if(f7) AS complaint_handling_median__x_closed_before_created
  FROM (SELECT ts, d_region,
      (TRUE) AND NOT (coalesce(closed_at IS NULL, FALSE)) AS f0,
      (TRUE) AND NOT (coalesce(closed_at IS NULL, FALSE)) AND coalesce(has_survey, FALSE) AS f1,
      (TRUE) AND coalesce(has_survey, FALSE) AS f2,
      (TRUE) AND coalesce(closed_at IS NULL, FALSE) AS f3,
      (is_complaint AND status <> 'cancelled') AND NOT (coalesce(closed_at IS NULL, FALSE) OR coalesce(closed_at < created_at, FALSE)) AS f4,
      CAST(epoch(closed_at - created_at) / 3600.0 AS DOUBLE) AS f5,
      (is_complaint AND status <> 'cancelled') AND coalesce(closed_at IS NULL, FALSE) AS f6,
      (is_complaint AND status <> 'cancelled') AND coalesce(closed_at < created_at, FALSE) AND NOT coalesce(closed_at IS NULL, FALSE) AS f7
    FROM b_closed)
  GROUP BY ALL
),
b_sla_resolution AS (
    SELECT * EXCLUDE (sla_created), due_at AS ts FROM (SELECT t.region AS d_region, t.ticket_id, t.status IN ('open', 'dispatched', 'in_progress') AS is_open, t.created_at AS sla_created, t.created_at + (CASE t.service_type WHEN $st22 THEN $h23 WHEN $st24 THEN $h25 WHEN $st26 THEN $h27 WHEN $st28 THEN $h29 WHEN $st30 THEN $h31 WHEN $st32 THEN $h33 WHEN $st34 THEN $h35 ELSE $h36 END) AS due_at, t.resolved_at AS done_at, t.sla_met_source AS verdict
      FROM ticket_facts t
      WHERE ((t.created_at >= $sla_lo20 AND t.created_at < $sla_hi21)) AND t.status <> 'cancelled') x
    WHERE ((sla_created >= $lo39 AND sla_created < $hi40) OR ((due_at >= $lo37 AND due_at < $hi38))) AND (done_at IS NOT NULL OR sla_created <= (SELECT ts FROM as_of) - $slack41 OR due_at <= (SELECT ts FROM as_of))
),
a_sla_resolution AS (
  SELECT CAST(date_trunc('month', ts) AS DATE) AS period_start, d_region,
    count_if(f1) AS sla_compliance__num,
    count_if(f0) AS sla_compliance__den,
    sla_compliance__den AS sla_compliance__n,
    count_if(f2) AS sla_compliance__b_source_verdict,
    count_if(f3) AS sla_compliance__b_sla_hours,
    count_if(f4) AS sla_compliance__ev,
    count_if(f5) AS sla_compliance__x_resolved_at_missing
  FROM (SELECT ts, d_region,
      (TRUE) AND NOT (coalesce(done_at IS NULL AND NOT is_open AND verdict IS NULL, FALSE)) AS f0,
      (TRUE) AND NOT (coalesce(done_at IS NULL AND NOT is_open AND verdict IS NULL, FALSE)) AND coalesce(coalesce(verdict, done_at <= due_at), FALSE) AS f1,
      (TRUE) AND NOT (coalesce(done_at IS NULL AND NOT is_open AND verdict IS NULL, FALSE)) AND coalesce(verdict IS NOT NULL, FALSE) AS f2,
      (TRUE) AND NOT (coalesce(done_at IS NULL AND NOT is_open AND verdict IS NULL, FALSE)) AND coalesce(verdict IS NULL, FALSE) AS f3,
      (TRUE) AND coalesce(done_at IS NOT NULL OR verdict IS NOT NULL, FALSE) AS f4,
      (TRUE) AND coalesce(done_at IS NULL AND NOT is_open AND verdict IS NULL, FALSE) AS f5
    FROM b_sla_resolution)
  GROUP BY ALL
),
b_sla_first_response AS (
    SELECT * EXCLUDE (sla_created), due_at AS ts FROM (SELECT t.region AS d_region, t.ticket_id, t.status IN ('open', 'dispatched', 'in_progress') AS is_open, t.created_at AS sla_created, t.created_at + $h44 AS due_at, t.first_response_at AS done_at, NULL::BOOLEAN AS verdict
      FROM ticket_facts t
      WHERE ((t.created_at >= $sla_lo42 AND t.created_at < $sla_hi43)) AND t.status <> 'cancelled') x
    WHERE ((sla_created >= $lo47 AND sla_created < $hi48) OR ((due_at >= $lo45 AND due_at < $hi46))) AND (done_at IS NOT NULL OR sla_created <= (SELECT ts FROM as_of) - $slack49 OR due_at <= (SELECT ts FROM as_of))
),
a_sla_first_response AS (
  SELECT CAST(date_trunc('month', ts) AS DATE) AS period_start, d_region,
    count_if(f1) AS sla_first_response__num,
    count_if(f0) AS sla_first_response__den,
    sla_first_response__den AS sla_first_response__n,
    count_if(f2) AS sla_first_response__ev,
    count_if(f3) AS sla_first_response__x_first_response_missing
  FROM (SELECT ts, d_region,
      (TRUE) AND NOT (coalesce(done_at IS NULL AND NOT is_open, FALSE)) AS f0,
      (TRUE) AND NOT (coalesce(done_at IS NULL AND NOT is_open, FALSE)) AND coalesce(done_at <= due_at, FALSE) AS f1,
      (TRUE) AND coalesce(done_at IS NOT NULL, FALSE) AS f2,
      (TRUE) AND coalesce(done_at IS NULL AND NOT is_open, FALSE) AS f3
    FROM b_sla_first_response)
  GROUP BY ALL
),
b_sla_onsite AS (
    SELECT * EXCLUDE (sla_created), due_at AS ts FROM (SELECT t.region AS d_region, t.ticket_id, t.status IN ('open', 'dispatched', 'in_progress') AS is_open, t.created_at AS sla_created, t.created_at + (CASE t.service_type WHEN $st55 THEN $h56 WHEN $st57 THEN $h58 ELSE $h59 END) AS due_at, t.visit1_started_at AS done_at, NULL::BOOLEAN AS verdict
      FROM ticket_facts t
      WHERE ((t.created_at >= $sla_lo50 AND t.created_at < $sla_hi51)) AND t.status <> 'cancelled' AND t.service_type IN ($ft52, $ft53, $ft54)) x
    WHERE ((sla_created >= $lo62 AND sla_created < $hi63) OR ((due_at >= $lo60 AND due_at < $hi61))) AND (done_at IS NOT NULL OR sla_created <= (SELECT ts FROM as_of) - $slack64 OR due_at <= (SELECT ts FROM as_of))
),
a_sla_onsite AS (
  SELECT CAST(date_trunc('month', ts) AS DATE) AS period_start, d_region,
    count_if(f1) AS sla_onsite__num,
    count_if(f0) AS sla_onsite__den,
    sla_onsite__den AS sla_onsite__n,
    count_if(f2) AS sla_onsite__ev,
    count_if(f3) AS sla_onsite__x_no_visit_recorded
  FROM (SELECT ts, d_region,
      (TRUE) AND NOT (coalesce(done_at IS NULL AND NOT is_open, FALSE)) AS f0,
      (TRUE) AND NOT (coalesce(done_at IS NULL AND NOT is_open, FALSE)) AND coalesce(done_at <= due_at, FALSE) AS f1,
      (TRUE) AND coalesce(done_at IS NOT NULL, FALSE) AS f2,
      (TRUE) AND coalesce(done_at IS NULL AND NOT is_open, FALSE) AS f3
    FROM b_sla_onsite)
  GROUP BY ALL
),
b_backlog AS (
    SELECT * EXCLUDE (first_end, last_end, period_end), period_end - INTERVAL 1 MONTH AS ts,
        epoch(least(period_end, (SELECT ts FROM as_of)) - created_at) / 86400.0 AS age_days
    FROM (SELECT *, unnest(generate_series(first_end, last_end, INTERVAL 1 MONTH)) AS period_end
          FROM (SELECT t.region AS d_region, t.ticket_id, t.created_at,
        greatest(date_trunc('month', t.created_at) + INTERVAL 1 MONTH, $bl_first65 + INTERVAL 1 MONTH) AS first_end,
        least(coalesce(date_trunc('month', t.resolved_at), date_trunc('month', (SELECT ts FROM as_of)) + INTERVAL 1 MONTH), $bl_last66) AS last_end
      FROM ticket_facts t
      WHERE t.created_at < $bl_last66 AND t.status <> 'cancelled'
        AND (t.resolved_at IS NULL AND t.status IN ('open', 'dispatched', 'in_progress'))
      UNION ALL
      SELECT t.region AS d_region, t.ticket_id, t.created_at,
        CASE WHEN t.created_at < date_trunc('month', t.resolved_at) THEN greatest(date_trunc('month', t.created_at) + INTERVAL 1 MONTH, $bl_first65 + INTERVAL 1 MONTH) END AS first_end,
        least(coalesce(date_trunc('month', t.resolved_at), date_trunc('month', (SELECT ts FROM as_of)) + INTERVAL 1 MONTH), $bl_last66) AS last_end
      FROM ticket_facts t
      WHERE t.created_at < $bl_last66 AND t.status <> 'cancelled'
        AND t.resolved_at >= $bl_first65 + INTERVAL 1 MONTH) x WHERE first_end <= last_end) y
    WHERE ((period_end - INTERVAL 1 MONTH >= $lo67 AND period_end - INTERVAL 1 MONTH < $hi68))
),
a_backlog AS (
  SELECT CAST(date_trunc('month', ts) AS DATE) AS period_start, d_region,
    count_if(f0) AS backlog__num,
    NULL::DOUBLE AS backlog__den,
    backlog__num AS backlog__n,
    count_if(f1) AS backlog_aged_7d__num,
    count_if(f0) AS backlog_aged_7d__den,
    backlog_aged_7d__den AS backlog_aged_7d__n
  FROM (SELECT ts, d_region,
      (TRUE) AS f0,
      (TRUE) AND coalesce(age_days > 7, FALSE) AS f1
    FROM b_backlog)
  GROUP BY ALL
),
b_parts AS (
    SELECT t.region AS d_region, t.started_at AS ts, t.*
    FROM part_facts t
    WHERE ((t.started_at >= $lo69 AND t.started_at < $hi70))
),
a_parts AS (
  SELECT CAST(date_trunc('month', ts) AS DATE) AS period_start, d_region,
    sum(f1) FILTER (WHERE f0) AS parts_consumption__num,
    NULL::DOUBLE AS parts_consumption__den,
    count_if(f0) AS parts_consumption__n,
    sum(f3) FILTER (WHERE f2) AS parts_cost__num,
    NULL::DOUBLE AS parts_cost__den,
    count_if(f2) AS parts_cost__n,
    count_if(f4) AS parts_cost__x_unit_cost_missing
  FROM (SELECT ts, d_region,
      (TRUE) AS f0,
      quantity AS f1,
      (TRUE) AND NOT (coalesce(unit_cost IS NULL, FALSE)) AS f2,
      quantity * unit_cost AS f3,
      (TRUE) AND coalesce(unit_cost IS NULL, FALSE) AS f4
    FROM b_parts)
  GROUP BY ALL
),
sel_cost AS (
    SELECT t.region AS d_region, t.resolved_at AS ts, t.*
    FROM ticket_facts t
    WHERE ((t.resolved_at >= $lo73 AND t.resolved_at < $hi74)) AND t.status <> 'cancelled' AND t.resolution IS DISTINCT FROM 'cancelled'
    UNION ALL
    SELECT t.region AS d_region, t.created_at AS ts, t.*
    FROM ticket_facts t
    WHERE t.resolved_at IS NULL AND t.status IN ('resolved', 'closed') AND ((t.created_at >= $lo71 AND t.created_at < $hi72)) AND t.status <> 'cancelled' AND t.resolution IS DISTINCT FROM 'cancelled'
),
b_cost AS (
    SELECT *, parts_cost + labour_cost + travel_cost + refund_cost AS total_cost
    FROM (SELECT s.*, s.visit_count AS n_visits, s.visit_us / 3600000000.0 AS labour_hours, CAST(round(s.visit_parts_cost, 2) AS DECIMAL(18, 2)) AS parts_cost, CAST(round(s.visit_us / 3600000000.0 * (CASE s.service_type WHEN $lr_st75 THEN $lr76 WHEN $lr_st77 THEN $lr78 WHEN $lr_st79 THEN $lr80 WHEN $lr_st81 THEN $lr82 ELSE $lr83 END), 2) AS DECIMAL(18, 2)) AS labour_cost, CAST(round(s.onsite_visits * $visit_fee84 + s.visit_travel_minutes * $travel_rate85, 2) AS DECIMAL(18, 2)) AS travel_cost, CAST(round(coalesce(s.refund_amount, 0), 2) AS DECIMAL(18, 2)) AS refund_cost
      FROM sel_cost s) x
),
a_cost AS (
  SELECT CAST(date_trunc('month', ts) AS DATE) AS period_start, d_region,
    sum(f1) FILTER (WHERE f0) AS cost_total__num,
    NULL::DOUBLE AS cost_total__den,
    count_if(f0) AS cost_total__n,
    count_if(f2) AS cost_total__x_resolved_at_missing,
    count_if(f3) AS cost_total__x_visit_end_missing,
    count_if(f4) AS cost_total__x_unit_cost_missing,
    sum(f5) FILTER (WHERE f0) AS cost_parts__num,
    NULL::DOUBLE AS cost_parts__den,
    count_if(f0) AS cost_parts__n,
    count_if(f2) AS cost_parts__x_resolved_at_missing,
    count_if(f3) AS cost_parts__x_visit_end_missing,
    count_if(f4) AS cost_parts__x_unit_cost_missing,
    sum(f6) FILTER (WHERE f0) AS cost_labour__num,
    NULL::DOUBLE AS cost_labour__den,
    count_if(f0) AS cost_labour__n,
    count_if(f2) AS cost_labour__x_resolved_at_missing,
    count_if(f3) AS cost_labour__x_visit_end_missing,
    count_if(f4) AS cost_labour__x_unit_cost_missing,
    sum(f7) FILTER (WHERE f0) AS cost_travel__num,
    NULL::DOUBLE AS cost_travel__den,
    count_if(f0) AS cost_travel__n,
    count_if(f2) AS cost_travel__x_resolved_at_missing,
    count_if(f3) AS cost_travel__x_visit_end_missing,
    count_if(f4) AS cost_travel__x_unit_cost_missing,
    sum(f8) FILTER (WHERE f0) AS cost_refunds__num,
    NULL::DOUBLE AS cost_refunds__den,
    count_if(f0) AS cost_refunds__n,
    count_if(f2) AS cost_refunds__x_resolved_at_missing,
    count_if(f3) AS cost_refunds__x_visit_end_missing,
    count_if(f4) AS cost_refunds__x_unit_cost_missing,
    sum(f9) FILTER (WHERE f0) AS customer_charges__num,
    NULL::DOUBLE AS customer_charges__den,
    count_if(f0) AS customer_charges__n,
    count_if(f2) AS customer_charges__x_resolved_at_missing,
    count_if(f3) AS customer_charges__x_visit_end_missing,
    count_if(f4) AS customer_charges__x_unit_cost_missing,
    CAST(sum(f1) FILTER (WHERE f0) AS DOUBLE) AS cost_per_ticket__num,
    count(f1) FILTER (WHERE f0) AS cost_per_ticket__den,
    cost_per_ticket__den AS cost_per_ticket__n,
    CAST(sum(f1 * f1) FILTER (WHERE f0) AS DOUBLE) AS cost_per_ticket__ss,
    count_if(f2) AS cost_per_ticket__x_resolved_at_missing,
    count_if(f3) AS cost_per_ticket__x_visit_end_missing,
    count_if(f4) AS cost_per_ticket__x_unit_cost_missing,
    CAST(sum(f1) FILTER (WHERE f10) AS DOUBLE) AS cost_per_repair__num,
    count(f1) FILTER (WHERE f10) AS cost_per_repair__den,
    cost_per_repair__den AS cost_per_repair__n,
    CAST(sum(f1 * f1) FILTER (WHERE f10) AS DOUBLE) AS cost_per_repair__ss,
    count_if(f11) AS cost_per_repair__x_resolved_at_missing,
    count_if(f12) AS cost_per_repair__x_visit_end_missing,
    count_if(f13) AS cost_per_repair__x_unit_cost_missing,
    count_if(f15) AS warranty_share__num,
    count_if(f14) AS warranty_share__den,
    warranty_share__den AS warranty_share__n,
    count_if(f16) AS warranty_share__ev,
    count_if(f11) AS warranty_share__x_resolved_at_missing,
    count_if(f17) AS warranty_share__x_warranty_unknown
  FROM (SELECT ts, d_region,
      (TRUE) AND NOT (coalesce(resolved_at IS NULL, FALSE) OR coalesce(visits_unended > 0, FALSE) OR coalesce(parts_uncosted > 0, FALSE)) AS f0,
      total_cost AS f1,
      (TRUE) AND coalesce(resolved_at IS NULL, FALSE) AS f2,
      (TRUE) AND coalesce(visits_unended > 0, FALSE) AND NOT coalesce(resolved_at IS NULL, FALSE) AS f3,
      (TRUE) AND coalesce(parts_uncosted > 0, FALSE) AND NOT coalesce(resolved_at IS NULL, FALSE) AND NOT coalesce(visits_unended > 0, FALSE) AS f4,
      parts_cost AS f5,
      labour_cost AS f6,
      travel_cost AS f7,
      refund_cost AS f8,
      coalesce(customer_charge, 0) AS f9,
      (service_type = 'repair') AND NOT (coalesce(resolved_at IS NULL, FALSE) OR coalesce(visits_unended > 0, FALSE) OR coalesce(parts_uncosted > 0, FALSE)) AS f10,
      (service_type = 'repair') AND coalesce(resolved_at IS NULL, FALSE) AS f11,
      (service_type = 'repair') AND coalesce(visits_unended > 0, FALSE) AND NOT coalesce(resolved_at IS NULL, FALSE) AS f12,
      (service_type = 'repair') AND coalesce(parts_uncosted > 0, FALSE) AND NOT coalesce(resolved_at IS NULL, FALSE) AND NOT coalesce(visits_unended > 0, FALSE) AS f13,
      (service_type = 'repair') AND NOT (coalesce(resolved_at IS NULL, FALSE) OR coalesce(in_warranty IS NULL, FALSE)) AS f14,
      (service_type = 'repair') AND NOT (coalesce(resolved_at IS NULL, FALSE) OR coalesce(in_warranty IS NULL, FALSE)) AND coalesce(in_warranty, FALSE) AS f15,
      (service_type = 'repair') AND coalesce(in_warranty IS NOT NULL, FALSE) AS f16,
      (service_type = 'repair') AND coalesce(in_warranty IS NULL, FALSE) AND NOT coalesce(resolved_at IS NULL, FALSE) AS f17
    FROM b_cost)
  GROUP BY ALL
)
SELECT 'ticket_volume' AS kpi, period_start, d_region, CAST(ticket_volume__num AS DOUBLE) AS numerator, CAST(ticket_volume__den AS DOUBLE) AS denominator, CAST(ticket_volume__n AS BIGINT) AS n_records, NULL::DOUBLE AS sumsq, NULL::DOUBLE[] AS aux, NULL::DOUBLE[] AS quantiles, []::BIGINT[] AS excluded, NULL::BIGINT[] AS basis, NULL::BIGINT AS evidence
  FROM a_created
UNION ALL BY NAME
SELECT 'complaint_rate' AS kpi, period_start, d_region, CAST(complaint_rate__num AS DOUBLE) AS numerator, CAST(complaint_rate__den AS DOUBLE) AS denominator, CAST(complaint_rate__n AS BIGINT) AS n_records, NULL::DOUBLE AS sumsq, NULL::DOUBLE[] AS aux, NULL::DOUBLE[] AS quantiles, [complaint_rate__x_is_complaint_missing]::BIGINT[] AS excluded, NULL::BIGINT[] AS basis, NULL::BIGINT AS evidence
  FROM a_created
UNION ALL BY NAME
SELECT 'first_response_time' AS kpi, period_start, d_region, NULL::DOUBLE AS numerator, NULL::DOUBLE AS denominator, CAST(first_response_time__n AS BIGINT) AS n_records, NULL::DOUBLE AS sumsq, NULL::DOUBLE[] AS aux, first_response_time__q AS quantiles, [first_response_time__x_not_yet_responded, first_response_time__x_first_response_missing, first_response_time__x_responded_before_created]::BIGINT[] AS excluded, NULL::BIGINT[] AS basis, NULL::BIGINT AS evidence
  FROM a_created
UNION ALL BY NAME
SELECT 'complaints_per_1k_orders' AS kpi, period_start, d_region, CAST(complaints_per_1k_orders__num AS DOUBLE) AS numerator, CAST(complaints_per_1k_orders__den AS DOUBLE) AS denominator, CAST(complaints_per_1k_orders__n AS BIGINT) AS n_records, NULL::DOUBLE AS sumsq, NULL::DOUBLE[] AS aux, NULL::DOUBLE[] AS quantiles, []::BIGINT[] AS excluded, NULL::BIGINT[] AS basis, NULL::BIGINT AS evidence
  FROM a_orders
UNION ALL BY NAME
SELECT 'repair_success_rate' AS kpi, period_start, d_region, CAST(repair_success_rate__num AS DOUBLE) AS numerator, CAST(repair_success_rate__den AS DOUBLE) AS denominator, CAST(repair_success_rate__n AS BIGINT) AS n_records, NULL::DOUBLE AS sumsq, NULL::DOUBLE[] AS aux, NULL::DOUBLE[] AS quantiles, [repair_success_rate__x_resolved_at_missing, repair_success_rate__x_resolution_missing, repair_success_rate__x_customer_or_model_missing]::BIGINT[] AS excluded, NULL::BIGINT[] AS basis, NULL::BIGINT AS evidence
  FROM a_repair
UNION ALL BY NAME
SELECT 'first_time_fix_rate' AS kpi, period_start, d_region, CAST(first_time_fix_rate__num AS DOUBLE) AS numerator, CAST(first_time_fix_rate__den AS DOUBLE) AS denominator, CAST(first_time_fix_rate__n AS BIGINT) AS n_records, NULL::DOUBLE AS sumsq, NULL::DOUBLE[] AS aux, NULL::DOUBLE[] AS quantiles, [first_time_fix_rate__x_resolved_at_missing, first_time_fix_rate__x_resolution_missing, first_time_fix_rate__x_no_first_visit]::BIGINT[] AS excluded, [first_time_fix_rate__b_visit1, first_time_fix_rate__b_reopen_count]::BIGINT[] AS basis, NULL::BIGINT AS evidence
  FROM a_repair
UNION ALL BY NAME
SELECT 'mttr' AS kpi, period_start, d_region, CAST(mttr__num AS DOUBLE) AS numerator, CAST(mttr__den AS DOUBLE) AS denominator, CAST(mttr__n AS BIGINT) AS n_records, CAST(mttr__ss AS DOUBLE) AS sumsq, NULL::DOUBLE[] AS aux, NULL::DOUBLE[] AS quantiles, [mttr__x_resolved_at_missing, mttr__x_resolved_before_created]::BIGINT[] AS excluded, NULL::BIGINT[] AS basis, NULL::BIGINT AS evidence
  FROM a_repair
UNION ALL BY NAME
SELECT 'mttr_median' AS kpi, period_start, d_region, NULL::DOUBLE AS numerator, NULL::DOUBLE AS denominator, CAST(mttr_median__n AS BIGINT) AS n_records, NULL::DOUBLE AS sumsq, NULL::DOUBLE[] AS aux, mttr_median__q AS quantiles, [mttr_median__x_resolved_at_missing, mttr_median__x_resolved_before_created]::BIGINT[] AS excluded, NULL::BIGINT[] AS basis, NULL::BIGINT AS evidence
  FROM a_repair
UNION ALL BY NAME
SELECT 'mttr_p90' AS kpi, period_start, d_region, NULL::DOUBLE AS numerator, NULL::DOUBLE AS denominator, CAST(mttr_p90__n AS BIGINT) AS n_records, NULL::DOUBLE AS sumsq, NULL::DOUBLE[] AS aux, mttr_p90__q AS quantiles, [mttr_p90__x_resolved_at_missing, mttr_p90__x_resolved_before_created]::BIGINT[] AS excluded, NULL::BIGINT[] AS basis, NULL::BIGINT AS evidence
  FROM a_repair
UNION ALL BY NAME
SELECT 'repeat_repair_rate' AS kpi, period_start, d_region, CAST(repeat_repair_rate__num AS DOUBLE) AS numerator, CAST(repeat_repair_rate__den AS DOUBLE) AS denominator, CAST(repeat_repair_rate__n AS BIGINT) AS n_records, NULL::DOUBLE AS sumsq, NULL::DOUBLE[] AS aux, NULL::DOUBLE[] AS quantiles, [repeat_repair_rate__x_resolved_at_missing, repeat_repair_rate__x_customer_or_model_missing]::BIGINT[] AS excluded, NULL::BIGINT[] AS basis, NULL::BIGINT AS evidence
  FROM a_repair
UNION ALL BY NAME
SELECT 'refund_cycle_time' AS kpi, period_start, d_region, NULL::DOUBLE AS numerator, NULL::DOUBLE AS denominator, CAST(refund_cycle_time__n AS BIGINT) AS n_records, NULL::DOUBLE AS sumsq, NULL::DOUBLE[] AS aux, refund_cycle_time__q AS quantiles, [refund_cycle_time__x_resolved_at_missing, refund_cycle_time__x_refunded_at_missing, refund_cycle_time__x_refunded_before_requested]::BIGINT[] AS excluded, NULL::BIGINT[] AS basis, NULL::BIGINT AS evidence
  FROM a_resolved
UNION ALL BY NAME
SELECT 'reopen_rate' AS kpi, period_start, d_region, CAST(reopen_rate__num AS DOUBLE) AS numerator, CAST(reopen_rate__den AS DOUBLE) AS denominator, CAST(reopen_rate__n AS BIGINT) AS n_records, NULL::DOUBLE AS sumsq, NULL::DOUBLE[] AS aux, NULL::DOUBLE[] AS quantiles, [reopen_rate__x_resolved_at_missing]::BIGINT[] AS excluded, [reopen_rate__b_reopened_at, reopen_rate__b_reopen_count]::BIGINT[] AS basis, CAST(reopen_rate__ev AS BIGINT) AS evidence
  FROM a_resolved
UNION ALL BY NAME
SELECT 'csat' AS kpi, period_start, d_region, CAST(csat__num AS DOUBLE) AS numerator, CAST(csat__den AS DOUBLE) AS denominator, CAST(csat__n AS BIGINT) AS n_records, NULL::DOUBLE AS sumsq, NULL::DOUBLE[] AS aux, NULL::DOUBLE[] AS quantiles, [csat__x_no_satisfaction]::BIGINT[] AS excluded, NULL::BIGINT[] AS basis, NULL::BIGINT AS evidence
  FROM a_responses
UNION ALL BY NAME
SELECT 'csat_mean' AS kpi, period_start, d_region, CAST(csat_mean__num AS DOUBLE) AS numerator, CAST(csat_mean__den AS DOUBLE) AS denominator, CAST(csat_mean__n AS BIGINT) AS n_records, CAST(csat_mean__ss AS DOUBLE) AS sumsq, NULL::DOUBLE[] AS aux, NULL::DOUBLE[] AS quantiles, [csat_mean__x_no_satisfaction]::BIGINT[] AS excluded, NULL::BIGINT[] AS basis, NULL::BIGINT AS evidence
  FROM a_responses
UNION ALL BY NAME
SELECT 'nps' AS kpi, period_start, d_region, CAST(nps__num AS DOUBLE) AS numerator, CAST(nps__den AS DOUBLE) AS denominator, CAST(nps__n AS BIGINT) AS n_records, NULL::DOUBLE AS sumsq, [CAST(nps__a1 AS DOUBLE), CAST(nps__a2 AS DOUBLE)] AS aux, NULL::DOUBLE[] AS quantiles, [nps__x_no_nps]::BIGINT[] AS excluded, NULL::BIGINT[] AS basis, NULL::BIGINT AS evidence
  FROM a_responses
UNION ALL BY NAME
SELECT 'survey_response_rate' AS kpi, period_start, d_region, CAST(survey_response_rate__num AS DOUBLE) AS numerator, CAST(survey_response_rate__den AS DOUBLE) AS denominator, CAST(survey_response_rate__n AS BIGINT) AS n_records, NULL::DOUBLE AS sumsq, NULL::DOUBLE[] AS aux, NULL::DOUBLE[] AS quantiles, [survey_response_rate__x_closed_at_missing]::BIGINT[] AS excluded, NULL::BIGINT[] AS basis, CAST(survey_response_rate__ev AS BIGINT) AS evidence
  FROM a_closed
UNION ALL BY NAME
SELECT 'complaint_handling_hours' AS kpi, period_start, d_region, CAST(complaint_handling_hours__num AS DOUBLE) AS numerator, CAST(complaint_handling_hours__den AS DOUBLE) AS denominator, CAST(complaint_handling_hours__n AS BIGINT) AS n_records, CAST(complaint_handling_hours__ss AS DOUBLE) AS sumsq, NULL::DOUBLE[] AS aux, NULL::DOUBLE[] AS quantiles, [complaint_handling_hours__x_closed_at_missing, complaint_handling_hours__x_closed_before_created]::BIGINT[] AS excluded, NULL::BIGINT[] AS basis, NULL::BIGINT AS evidence
  FROM a_closed
UNION ALL BY NAME
SELECT 'complaint_handling_median' AS kpi, period_start, d_region, NULL::DOUBLE AS numerator, NULL::DOUBLE AS denominator, CAST(complaint_handling_median__n AS BIGINT) AS n_records, NULL::DOUBLE AS sumsq, NULL::DOUBLE[] AS aux, complaint_handling_median__q AS quantiles, [complaint_handling_median__x_closed_at_missing, complaint_handling_median__x_closed_before_created]::BIGINT[] AS excluded, NULL::BIGINT[] AS basis, NULL::BIGINT AS evidence
  FROM a_closed
UNION ALL BY NAME
SELECT 'sla_compliance' AS kpi, period_start, d_region, CAST(sla_compliance__num AS DOUBLE) AS numerator, CAST(sla_compliance__den AS DOUBLE) AS denominator, CAST(sla_compliance__n AS BIGINT) AS n_records, NULL::DOUBLE AS sumsq, NULL::DOUBLE[] AS aux, NULL::DOUBLE[] AS quantiles, [sla_compliance__x_resolved_at_missing]::BIGINT[] AS excluded, [sla_compliance__b_source_verdict, sla_compliance__b_sla_hours]::BIGINT[] AS basis, CAST(sla_compliance__ev AS BIGINT) AS evidence
  FROM a_sla_resolution
UNION ALL BY NAME
SELECT 'sla_first_response' AS kpi, period_start, d_region, CAST(sla_first_response__num AS DOUBLE) AS numerator, CAST(sla_first_response__den AS DOUBLE) AS denominator, CAST(sla_first_response__n AS BIGINT) AS n_records, NULL::DOUBLE AS sumsq, NULL::DOUBLE[] AS aux, NULL::DOUBLE[] AS quantiles, [sla_first_response__x_first_response_missing]::BIGINT[] AS excluded, NULL::BIGINT[] AS basis, CAST(sla_first_response__ev AS BIGINT) AS evidence
  FROM a_sla_first_response
UNION ALL BY NAME
SELECT 'sla_onsite' AS kpi, period_start, d_region, CAST(sla_onsite__num AS DOUBLE) AS numerator, CAST(sla_onsite__den AS DOUBLE) AS denominator, CAST(sla_onsite__n AS BIGINT) AS n_records, NULL::DOUBLE AS sumsq, NULL::DOUBLE[] AS aux, NULL::DOUBLE[] AS quantiles, [sla_onsite__x_no_visit_recorded]::BIGINT[] AS excluded, NULL::BIGINT[] AS basis, CAST(sla_onsite__ev AS BIGINT) AS evidence
  FROM a_sla_onsite
UNION ALL BY NAME
SELECT 'backlog' AS kpi, period_start, d_region, CAST(backlog__num AS DOUBLE) AS numerator, CAST(backlog__den AS DOUBLE) AS denominator, CAST(backlog__n AS BIGINT) AS n_records, NULL::DOUBLE AS sumsq, NULL::DOUBLE[] AS aux, NULL::DOUBLE[] AS quantiles, []::BIGINT[] AS excluded, NULL::BIGINT[] AS basis, NULL::BIGINT AS evidence
  FROM a_backlog
UNION ALL BY NAME
SELECT 'backlog_aged_7d' AS kpi, period_start, d_region, CAST(backlog_aged_7d__num AS DOUBLE) AS numerator, CAST(backlog_aged_7d__den AS DOUBLE) AS denominator, CAST(backlog_aged_7d__n AS BIGINT) AS n_records, NULL::DOUBLE AS sumsq, NULL::DOUBLE[] AS aux, NULL::DOUBLE[] AS quantiles, []::BIGINT[] AS excluded, NULL::BIGINT[] AS basis, NULL::BIGINT AS evidence
  FROM a_backlog
UNION ALL BY NAME
SELECT 'parts_consumption' AS kpi, period_start, d_region, CAST(parts_consumption__num AS DOUBLE) AS numerator, CAST(parts_consumption__den AS DOUBLE) AS denominator, CAST(parts_consumption__n AS BIGINT) AS n_records, NULL::DOUBLE AS sumsq, NULL::DOUBLE[] AS aux, NULL::DOUBLE[] AS quantiles, []::BIGINT[] AS excluded, NULL::BIGINT[] AS basis, NULL::BIGINT AS evidence
  FROM a_parts
UNION ALL BY NAME
SELECT 'parts_cost' AS kpi, period_start, d_region, CAST(parts_cost__num AS DOUBLE) AS numerator, CAST(parts_cost__den AS DOUBLE) AS denominator, CAST(parts_cost__n AS BIGINT) AS n_records, NULL::DOUBLE AS sumsq, NULL::DOUBLE[] AS aux, NULL::DOUBLE[] AS quantiles, [parts_cost__x_unit_cost_missing]::BIGINT[] AS excluded, NULL::BIGINT[] AS basis, NULL::BIGINT AS evidence
  FROM a_parts
UNION ALL BY NAME
SELECT 'cost_total' AS kpi, period_start, d_region, CAST(cost_total__num AS DOUBLE) AS numerator, CAST(cost_total__den AS DOUBLE) AS denominator, CAST(cost_total__n AS BIGINT) AS n_records, NULL::DOUBLE AS sumsq, NULL::DOUBLE[] AS aux, NULL::DOUBLE[] AS quantiles, [cost_total__x_resolved_at_missing, cost_total__x_visit_end_missing, cost_total__x_unit_cost_missing]::BIGINT[] AS excluded, NULL::BIGINT[] AS basis, NULL::BIGINT AS evidence
  FROM a_cost
UNION ALL BY NAME
SELECT 'cost_parts' AS kpi, period_start, d_region, CAST(cost_parts__num AS DOUBLE) AS numerator, CAST(cost_parts__den AS DOUBLE) AS denominator, CAST(cost_parts__n AS BIGINT) AS n_records, NULL::DOUBLE AS sumsq, NULL::DOUBLE[] AS aux, NULL::DOUBLE[] AS quantiles, [cost_parts__x_resolved_at_missing, cost_parts__x_visit_end_missing, cost_parts__x_unit_cost_missing]::BIGINT[] AS excluded, NULL::BIGINT[] AS basis, NULL::BIGINT AS evidence
  FROM a_cost
UNION ALL BY NAME
SELECT 'cost_labour' AS kpi, period_start, d_region, CAST(cost_labour__num AS DOUBLE) AS numerator, CAST(cost_labour__den AS DOUBLE) AS denominator, CAST(cost_labour__n AS BIGINT) AS n_records, NULL::DOUBLE AS sumsq, NULL::DOUBLE[] AS aux, NULL::DOUBLE[] AS quantiles, [cost_labour__x_resolved_at_missing, cost_labour__x_visit_end_missing, cost_labour__x_unit_cost_missing]::BIGINT[] AS excluded, NULL::BIGINT[] AS basis, NULL::BIGINT AS evidence
  FROM a_cost
UNION ALL BY NAME
SELECT 'cost_travel' AS kpi, period_start, d_region, CAST(cost_travel__num AS DOUBLE) AS numerator, CAST(cost_travel__den AS DOUBLE) AS denominator, CAST(cost_travel__n AS BIGINT) AS n_records, NULL::DOUBLE AS sumsq, NULL::DOUBLE[] AS aux, NULL::DOUBLE[] AS quantiles, [cost_travel__x_resolved_at_missing, cost_travel__x_visit_end_missing, cost_travel__x_unit_cost_missing]::BIGINT[] AS excluded, NULL::BIGINT[] AS basis, NULL::BIGINT AS evidence
  FROM a_cost
UNION ALL BY NAME
SELECT 'cost_refunds' AS kpi, period_start, d_region, CAST(cost_refunds__num AS DOUBLE) AS numerator, CAST(cost_refunds__den AS DOUBLE) AS denominator, CAST(cost_refunds__n AS BIGINT) AS n_records, NULL::DOUBLE AS sumsq, NULL::DOUBLE[] AS aux, NULL::DOUBLE[] AS quantiles, [cost_refunds__x_resolved_at_missing, cost_refunds__x_visit_end_missing, cost_refunds__x_unit_cost_missing]::BIGINT[] AS excluded, NULL::BIGINT[] AS basis, NULL::BIGINT AS evidence
  FROM a_cost
UNION ALL BY NAME
SELECT 'customer_charges' AS kpi, period_start, d_region, CAST(customer_charges__num AS DOUBLE) AS numerator, CAST(customer_charges__den AS DOUBLE) AS denominator, CAST(customer_charges__n AS BIGINT) AS n_records, NULL::DOUBLE AS sumsq, NULL::DOUBLE[] AS aux, NULL::DOUBLE[] AS quantiles, [customer_charges__x_resolved_at_missing, customer_charges__x_visit_end_missing, customer_charges__x_unit_cost_missing]::BIGINT[] AS excluded, NULL::BIGINT[] AS basis, NULL::BIGINT AS evidence
  FROM a_cost
UNION ALL BY NAME
SELECT 'cost_per_ticket' AS kpi, period_start, d_region, CAST(cost_per_ticket__num AS DOUBLE) AS numerator, CAST(cost_per_ticket__den AS DOUBLE) AS denominator, CAST(cost_per_ticket__n AS BIGINT) AS n_records, CAST(cost_per_ticket__ss AS DOUBLE) AS sumsq, NULL::DOUBLE[] AS aux, NULL::DOUBLE[] AS quantiles, [cost_per_ticket__x_resolved_at_missing, cost_per_ticket__x_visit_end_missing, cost_per_ticket__x_unit_cost_missing]::BIGINT[] AS excluded, NULL::BIGINT[] AS basis, NULL::BIGINT AS evidence
  FROM a_cost
UNION ALL BY NAME
SELECT 'cost_per_repair' AS kpi, period_start, d_region, CAST(cost_per_repair__num AS DOUBLE) AS numerator, CAST(cost_per_repair__den AS DOUBLE) AS denominator, CAST(cost_per_repair__n AS BIGINT) AS n_records, CAST(cost_per_repair__ss AS DOUBLE) AS sumsq, NULL::DOUBLE[] AS aux, NULL::DOUBLE[] AS quantiles, [cost_per_repair__x_resolved_at_missing, cost_per_repair__x_visit_end_missing, cost_per_repair__x_unit_cost_missing]::BIGINT[] AS excluded, NULL::BIGINT[] AS basis, NULL::BIGINT AS evidence
  FROM a_cost
UNION ALL BY NAME
SELECT 'warranty_share' AS kpi, period_start, d_region, CAST(warranty_share__num AS DOUBLE) AS numerator, CAST(warranty_share__den AS DOUBLE) AS denominator, CAST(warranty_share__n AS BIGINT) AS n_records, NULL::DOUBLE AS sumsq, NULL::DOUBLE[] AS aux, NULL::DOUBLE[] AS quantiles, [warranty_share__x_resolved_at_missing, warranty_share__x_warranty_unknown]::BIGINT[] AS excluded, NULL::BIGINT[] AS basis, CAST(warranty_share__ev AS BIGINT) AS evidence
  FROM a_cost;

-- parameters:
--   $lo0 = datetime.datetime(2023, 1, 1, 0, 0)
--   $hi1 = datetime.datetime(2024, 7, 1, 0, 0)
--   $lo2 = datetime.datetime(2023, 1, 1, 0, 0)
--   $hi3 = datetime.datetime(2024, 7, 1, 0, 0)
--   $lo4 = datetime.datetime(2023, 1, 1, 0, 0)
--   $hi5 = datetime.datetime(2024, 7, 1, 0, 0)
--   $lo6 = datetime.datetime(2023, 1, 1, 0, 0)
--   $hi7 = datetime.datetime(2024, 7, 1, 0, 0)
--   $lo8 = datetime.datetime(2023, 1, 1, 0, 0)
--   $hi9 = datetime.datetime(2024, 7, 1, 0, 0)
--   $lo10 = datetime.datetime(2023, 1, 1, 0, 0)
--   $hi11 = datetime.datetime(2024, 7, 1, 0, 0)
--   $lo12 = datetime.datetime(2023, 1, 1, 0, 0)
--   $hi13 = datetime.datetime(2024, 7, 1, 0, 0)
--   $lo14 = datetime.datetime(2023, 1, 1, 0, 0)
--   $hi15 = datetime.datetime(2024, 7, 1, 0, 0)
--   $lo16 = datetime.datetime(2023, 1, 1, 0, 0)
--   $hi17 = datetime.datetime(2024, 7, 1, 0, 0)
--   $lo18 = datetime.datetime(2023, 1, 1, 0, 0)
--   $hi19 = datetime.datetime(2024, 7, 1, 0, 0)
--   $sla_lo20 = datetime.datetime(2022, 12, 25, 0, 0)
--   $sla_hi21 = datetime.datetime(2024, 7, 1, 0, 0)
--   $st22 = 'repair'
--   $h23 = datetime.timedelta(days=3)
--   $st24 = 'install'
--   $h25 = datetime.timedelta(days=3)
--   $st26 = 'delivery'
--   $h27 = datetime.timedelta(days=3)
--   $st28 = 'return'
--   $h29 = datetime.timedelta(days=7)
--   $st30 = 'exchange'
--   $h31 = datetime.timedelta(days=7)
--   $st32 = 'refund'
--   $h33 = datetime.timedelta(days=3)
--   $st34 = 'consult'
--   $h35 = datetime.timedelta(days=1)
--   $h36 = datetime.timedelta(days=3)
--   $lo37 = datetime.datetime(2023, 1, 1, 0, 0)
--   $hi38 = datetime.datetime(2024, 7, 1, 0, 0)
--   $lo39 = datetime.datetime(2023, 1, 1, 0, 0)
--   $hi40 = datetime.datetime(2024, 6, 24, 0, 0)
--   $slack41 = datetime.timedelta(days=7)
--   $sla_lo42 = datetime.datetime(2022, 12, 25, 0, 0)
--   $sla_hi43 = datetime.datetime(2024, 7, 1, 0, 0)
--   $h44 = datetime.timedelta(seconds=3600)
--   $lo45 = datetime.datetime(2023, 1, 1, 0, 0)
--   $hi46 = datetime.datetime(2024, 7, 1, 0, 0)
--   $lo47 = datetime.datetime(2023, 1, 1, 0, 0)
--   $hi48 = datetime.datetime(2024, 6, 24, 0, 0)
--   $slack49 = datetime.timedelta(days=7)
--   $sla_lo50 = datetime.datetime(2022, 12, 25, 0, 0)
--   $sla_hi51 = datetime.datetime(2024, 7, 1, 0, 0)
--   $ft52 = 'repair'
--   $ft53 = 'install'
--   $ft54 = 'delivery'
--   $st55 = 'install'
--   $h56 = datetime.timedelta(days=2)
--   $st57 = 'delivery'
--   $h58 = datetime.timedelta(days=2)
--   $h59 = datetime.timedelta(days=1)
--   $lo60 = datetime.datetime(2023, 1, 1, 0, 0)
--   $hi61 = datetime.datetime(2024, 7, 1, 0, 0)
--   $lo62 = datetime.datetime(2023, 1, 1, 0, 0)
--   $hi63 = datetime.datetime(2024, 6, 24, 0, 0)
--   $slack64 = datetime.timedelta(days=7)
--   $bl_first65 = datetime.datetime(2023, 1, 1, 0, 0)
--   $bl_last66 = datetime.datetime(2024, 7, 1, 0, 0)
--   $lo67 = datetime.datetime(2023, 1, 1, 0, 0)
--   $hi68 = datetime.datetime(2024, 7, 1, 0, 0)
--   $lo69 = datetime.datetime(2023, 1, 1, 0, 0)
--   $hi70 = datetime.datetime(2024, 7, 1, 0, 0)
--   $lo71 = datetime.datetime(2023, 1, 1, 0, 0)
--   $hi72 = datetime.datetime(2024, 7, 1, 0, 0)
--   $lo73 = datetime.datetime(2023, 1, 1, 0, 0)
--   $hi74 = datetime.datetime(2024, 7, 1, 0, 0)
--   $lr_st75 = 'repair'
--   $lr76 = 80.0
--   $lr_st77 = 'install'
--   $lr78 = 60.0
--   $lr_st79 = 'delivery'
--   $lr80 = 40.0
--   $lr_st81 = 'exchange'
--   $lr82 = 40.0
--   $lr83 = 50.0
--   $visit_fee84 = 30.0
--   $travel_rate85 = 0.0
