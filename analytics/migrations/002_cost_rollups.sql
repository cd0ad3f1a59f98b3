-- Cost and tokens per tenant / route / provider / model, per hour and per day.
-- Fed by attempt rows only: an attempt is what a provider billed (a failed attempt
-- may still cost), while a request row repeats its attempts' total for per-request
-- views. Summing both kinds would count every dollar twice.
-- Read with sum() ... GROUP BY: rows of one key are summed by merges, eventually.
--
-- Exactness: a materialized view sees every INSERT, duplicates included. Rollups stay
-- exact because (1) the sink drops repeated event_ids within a batch, (2) it skips
-- event_ids already stored before inserting, and (3) it inserts with a deduplication
-- token derived from the batch's event_ids, and every rollup table keeps a
-- deduplication window, so an identical retry is dropped atomically by ClickHouse
-- in the fact table and in every rollup. Rows inserted around the sink are counted
-- exactly only by the queries that read usage_events FINAL. See README.md.
CREATE TABLE IF NOT EXISTS cost_hourly
(
    hour                DateTime('UTC'),
    tenant              LowCardinality(String),
    route               LowCardinality(String),
    provider            LowCardinality(String),
    model               LowCardinality(String),
    attempts            UInt64,
    cost                Decimal(38, 9),
    cost_unknown_rows   UInt64,
    input_tokens        UInt64,
    output_tokens       UInt64,
    cached_input_tokens UInt64,
    reasoning_tokens    UInt64
)
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (tenant, hour, route, provider, model)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS cost_hourly_mv TO cost_hourly AS
SELECT
    toStartOfHour(ts) AS hour, tenant, route, provider, model,
    count() AS attempts,
    toDecimal128(sum(cost), 9) AS cost,
    countIf(cost_unknown) AS cost_unknown_rows,
    sum(input_tokens) AS input_tokens,
    sum(output_tokens) AS output_tokens,
    sum(cached_input_tokens) AS cached_input_tokens,
    sum(reasoning_tokens) AS reasoning_tokens
FROM usage_events
WHERE kind = 'attempt'
GROUP BY hour, tenant, route, provider, model;

CREATE TABLE IF NOT EXISTS cost_daily
(
    day                 Date,
    tenant              LowCardinality(String),
    route               LowCardinality(String),
    provider            LowCardinality(String),
    model               LowCardinality(String),
    attempts            UInt64,
    cost                Decimal(38, 9),
    cost_unknown_rows   UInt64,
    input_tokens        UInt64,
    output_tokens       UInt64,
    cached_input_tokens UInt64,
    reasoning_tokens    UInt64
)
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (tenant, day, route, provider, model)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS cost_daily_mv TO cost_daily AS
SELECT
    toDate(ts) AS day, tenant, route, provider, model,
    count() AS attempts,
    toDecimal128(sum(cost), 9) AS cost,
    countIf(cost_unknown) AS cost_unknown_rows,
    sum(input_tokens) AS input_tokens,
    sum(output_tokens) AS output_tokens,
    sum(cached_input_tokens) AS cached_input_tokens,
    sum(reasoning_tokens) AS reasoning_tokens
FROM usage_events
WHERE kind = 'attempt'
GROUP BY day, tenant, route, provider, model;
