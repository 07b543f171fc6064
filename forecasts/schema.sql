-- Tables the forecasts own. Every row belongs to a run; the dashboard only reads stored runs.

-- One row per `aftersales forecast ...` / `aftersales backtest ...` run.
CREATE TABLE IF NOT EXISTS forecast_runs (
    run_id       VARCHAR PRIMARY KEY,
    kind         VARCHAR NOT NULL,    -- workload | parts | backtest_workload | backtest_parts
    created_at   TIMESTAMP NOT NULL,  -- local wall-clock time of the run
    data_cutoff  DATE,                -- last day (workload) / week start (parts) of data used
    source       VARCHAR NOT NULL,    -- 'database' or the path of the series file
    model        VARCHAR NOT NULL,    -- the models the run chose among, e.g. 'prophet|mstl'
    params       JSON NOT NULL,       -- the settings used (horizon, origins, ...)
    n_series     INTEGER NOT NULL,
    workers      INTEGER NOT NULL,
    seconds      DOUBLE NOT NULL,
    summary      JSON,                -- headline figures, for a run list
    source_sha256 VARCHAR,            -- SHA-256 of the series file (null for the database)
    freq         VARCHAR              -- D | W | M: the series' frequency (null: runs before it was stored)
);

-- Forecasts in long format; `chosen` marks the model each series uses.
CREATE TABLE IF NOT EXISTS forecast_values (
    run_id        VARCHAR NOT NULL,
    unique_id     VARCHAR NOT NULL,
    ds            DATE NOT NULL,       -- day (workload) or week start, a Monday (parts)
    model         VARCHAR NOT NULL,
    chosen        BOOLEAN NOT NULL,
    yhat          DOUBLE,
    yhat_lower_80 DOUBLE,
    yhat_upper_80 DOUBLE,
    yhat_lower_95 DOUBLE,
    yhat_upper_95 DOUBLE
);

-- The series a run from a file (--input) forecast, as screened: the history its charts show
-- (runs from the database read their history from the tickets themselves).
CREATE TABLE IF NOT EXISTS forecast_history (
    run_id    VARCHAR NOT NULL,
    unique_id VARCHAR NOT NULL,
    ds        DATE NOT NULL,
    y         DOUBLE NOT NULL
);

-- Per series: the model used and why, with its backtest score beside the baseline's.
CREATE TABLE IF NOT EXISTS forecast_series (
    run_id         VARCHAR NOT NULL,
    unique_id      VARCHAR NOT NULL,
    model          VARCHAR NOT NULL,
    reason         VARCHAR NOT NULL,
    series_class   VARCHAR,            -- parts: smooth | erratic | intermittent | lumpy | no_demand
    adi            DOUBLE,
    cv2            DOUBLE,
    score_metric   VARCHAR,            -- mase (workload) | rmsse (parts)
    score          DOUBLE,             -- backtest score of the model used
    baseline_score DOUBLE,             -- same metric for seasonal naive (workload) / naive (parts)
    scores         JSON                -- every candidate's score
);

-- Technicians needed per region and week against those available.
CREATE TABLE IF NOT EXISTS staffing_plan (
    run_id                VARCHAR NOT NULL,
    region                VARCHAR NOT NULL,
    week_start            DATE NOT NULL,     -- Monday; whole weeks inside the horizon only
    tickets_expected      DOUBLE NOT NULL,
    hours_expected        DOUBLE NOT NULL,
    hours_planned         DOUBLE NOT NULL,   -- at the plan quantile
    plan_quantile         DOUBLE NOT NULL,
    technicians_needed    DOUBLE NOT NULL,
    technicians_available INTEGER NOT NULL,
    gap                   DOUBLE NOT NULL,   -- available - needed; negative = short
    short                 BOOLEAN NOT NULL
);

-- Reorder policy and run-out projection per part.
CREATE TABLE IF NOT EXISTS parts_reorder (
    run_id                    VARCHAR NOT NULL,
    part_no                   VARCHAR NOT NULL,
    part_name                 VARCHAR,
    series_class              VARCHAR NOT NULL,
    model                     VARCHAR NOT NULL,
    distribution              VARCHAR NOT NULL,  -- nb | poisson | bootstrap
    lead_time_days            INTEGER NOT NULL,
    lead_time_source          VARCHAR NOT NULL,  -- master | default
    mean_weekly_demand        DOUBLE NOT NULL,
    reorder_point             INTEGER NOT NULL,
    order_up_to               INTEGER NOT NULL,
    on_hand                   INTEGER,           -- at the stock count (as_of)
    as_of                     DATE,
    stock_at_cutoff           DOUBLE,            -- on_hand less what was used after as_of
    order_now                 BOOLEAN,
    order_qty                 INTEGER,
    runout_date               DATE,
    runs_out_within_lead_time BOOLEAN,
    stockout_prob_lead_time   DOUBLE
);

-- Backtest results: summaries (unique_id = '*') and per-series scores, long format.
CREATE TABLE IF NOT EXISTS backtest_scores (
    run_id    VARCHAR NOT NULL,
    scope     VARCHAR NOT NULL,   -- rolling | event:all | event:double11:2025 | class:lumpy | all ...
    unique_id VARCHAR NOT NULL,
    model     VARCHAR NOT NULL,
    metric    VARCHAR NOT NULL,
    value     DOUBLE
);

-- The backtest forecasts themselves, to plot against what happened.
CREATE TABLE IF NOT EXISTS backtest_forecasts (
    run_id        VARCHAR NOT NULL,
    window_label  VARCHAR NOT NULL,   -- rolling | event:spring_festival:2026 | ...
    unique_id     VARCHAR NOT NULL,
    cutoff        DATE NOT NULL,
    ds            DATE NOT NULL,
    model         VARCHAR NOT NULL,
    y             DOUBLE,
    yhat          DOUBLE,
    yhat_lower_80 DOUBLE,
    yhat_upper_80 DOUBLE,
    yhat_lower_95 DOUBLE,
    yhat_upper_95 DOUBLE
);

-- Inventory simulation per part and policy (count-distribution policy vs the normal baseline).
CREATE TABLE IF NOT EXISTS inventory_sim (
    run_id         VARCHAR NOT NULL,
    part_no        VARCHAR NOT NULL,
    series_class   VARCHAR NOT NULL,
    policy         VARCHAR NOT NULL,  -- count | baseline
    weeks          INTEGER NOT NULL,
    demand         DOUBLE NOT NULL,
    filled         DOUBLE NOT NULL,
    fill_rate      DOUBLE,
    mean_stock     DOUBLE NOT NULL,
    orders         INTEGER NOT NULL,
    stockout_weeks INTEGER NOT NULL
);
