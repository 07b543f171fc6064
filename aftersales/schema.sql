-- Tables the pipeline owns (ledger, quarantine, metadata). The canonical data tables are
-- declared in aftersales/model.py, which generates their DDL and docs/DATA_MODEL.md.

CREATE SEQUENCE IF NOT EXISTS load_id_seq START 1;

-- The load ledger: one row per file the pipeline applied. Failed files write nothing (the
-- database stays exactly as it was), so every row here is a file that landed.
CREATE TABLE IF NOT EXISTS loads (
    load_id      BIGINT PRIMARY KEY,
    file_name    VARCHAR NOT NULL,
    file_path    VARCHAR NOT NULL,
    sha256       VARCHAR NOT NULL,
    source       VARCHAR NOT NULL,
    table_name   VARCHAR NOT NULL,
    started_at   TIMESTAMP NOT NULL,
    finished_at  TIMESTAMP NOT NULL,
    rows_read    BIGINT NOT NULL,
    inserted     BIGINT NOT NULL,
    updated      BIGINT NOT NULL,
    unchanged    BIGINT NOT NULL,
    quarantined  BIGINT NOT NULL,
    status       VARCHAR NOT NULL,   -- loaded | duplicate (same SHA-256 and source already loaded)
    message      VARCHAR,
    file_bytes   BIGINT              -- the file's size: only a file of a loaded one's size can be a duplicate
);
ALTER TABLE loads ADD COLUMN IF NOT EXISTS file_bytes BIGINT;  -- databases from before the column

-- Rows that failed a validation rule, with enough to find and fix them at the source.
CREATE TABLE IF NOT EXISTS quarantine (
    load_id     BIGINT NOT NULL,
    file_name   VARCHAR NOT NULL,
    row_number  BIGINT NOT NULL,     -- 1-based data row in the file (header excluded); sheet rows for Excel
    sheet       VARCHAR,
    column_name VARCHAR,             -- canonical column that failed, NULL for whole-row rules
    source_column VARCHAR,           -- the file's own header for that column
    rule        VARCHAR NOT NULL,
    message     VARCHAR NOT NULL,
    raw         JSON                 -- the row's raw values as read
);

CREATE TABLE IF NOT EXISTS meta (
    key   VARCHAR PRIMARY KEY,
    value VARCHAR
);
