-- One hourly rollup in place of cost_hourly, cost_daily, cache_hourly and
-- outcomes_hourly: each insert into usage_events wrote a new part in every rollup,
-- and those parts (plus their deduplication logs) were most of an insert's cost
-- (benchmarks/analytics/RESULTS.md). usage_hourly keeps every dimension the four had,
-- so each of their questions is a GROUP BY over it:
--   cost per hour/day:      kind = 'attempt', sum(cost), sum(rows) = attempts
--   cache hits and savings: kind = 'request', sum(rows) = requests, sum(hits)
--   error/fallback rates:   rows, fallback_rows per kind/status/error_code
-- Days are summed from hours at query time.
--
-- Exactness is what it was for the four: the view sees every insert, so the sink's
-- guarantees (in-batch copies dropped, stored event_ids skipped, deduplication token
-- with a window on this table too) keep it exact; see README.md.
CREATE TABLE IF NOT EXISTS usage_hourly
(
    hour                DateTime('UTC'),
    tenant              LowCardinality(String),
    route               LowCardinality(String),
    kind                LowCardinality(String),
    provider            LowCardinality(String),
    model               LowCardinality(String),
    status              LowCardinality(String),
    error_code          LowCardinality(String),
    rows                UInt64,
    fallback_rows       UInt64,
    cost                Decimal(38, 9),
    cost_unknown_rows   UInt64,
    input_tokens        UInt64,
    output_tokens       UInt64,
    cached_input_tokens UInt64,
    reasoning_tokens    UInt64,
    hits                UInt64,
    cost_saved          Decimal(38, 9),
    similarity_sum      Float64,
    similarity_rows     UInt64
)
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (tenant, hour, route, kind, provider, model, status, error_code)
SETTINGS non_replicated_deduplication_window = 1000;

-- Backfill from the deduplicated fact table. TRUNCATE first, so that a migration
-- interrupted after (part of) the INSERT backfills from scratch when it runs again.
-- The sink runs migrations before it consumes: nothing else inserts meanwhile.
TRUNCATE TABLE IF EXISTS usage_hourly;

INSERT INTO usage_hourly
SELECT
    toStartOfHour(ts) AS hour, tenant, route, kind, provider, model, status, error_code,
    count() AS rows,
    countIf(fallback_depth > 0) AS fallback_rows,
    toDecimal128(sum(cost), 9) AS cost,
    countIf(cost_unknown) AS cost_unknown_rows,
    sum(input_tokens) AS input_tokens,
    sum(output_tokens) AS output_tokens,
    sum(cached_input_tokens) AS cached_input_tokens,
    sum(reasoning_tokens) AS reasoning_tokens,
    countIf(cached) AS hits,
    toDecimal128(sum(cost_saved), 9) AS cost_saved,
    sumIf(toFloat64(assumeNotNull(similarity)), cached AND similarity IS NOT NULL) AS similarity_sum,
    countIf(cached AND similarity IS NOT NULL) AS similarity_rows
FROM usage_events FINAL
GROUP BY hour, tenant, route, kind, provider, model, status, error_code;

CREATE MATERIALIZED VIEW IF NOT EXISTS usage_hourly_mv TO usage_hourly AS
SELECT
    toStartOfHour(ts) AS hour, tenant, route, kind, provider, model, status, error_code,
    count() AS rows,
    countIf(fallback_depth > 0) AS fallback_rows,
    toDecimal128(sum(cost), 9) AS cost,
    countIf(cost_unknown) AS cost_unknown_rows,
    sum(input_tokens) AS input_tokens,
    sum(output_tokens) AS output_tokens,
    sum(cached_input_tokens) AS cached_input_tokens,
    sum(reasoning_tokens) AS reasoning_tokens,
    countIf(cached) AS hits,
    toDecimal128(sum(cost_saved), 9) AS cost_saved,
    sumIf(toFloat64(assumeNotNull(similarity)), cached AND similarity IS NOT NULL) AS similarity_sum,
    countIf(cached AND similarity IS NOT NULL) AS similarity_rows
FROM usage_events
GROUP BY hour, tenant, route, kind, provider, model, status, error_code;

-- The four rollups it replaces: their views stop first, then their tables go.
DROP VIEW IF EXISTS cost_hourly_mv;
DROP VIEW IF EXISTS cost_daily_mv;
DROP VIEW IF EXISTS cache_hourly_mv;
DROP VIEW IF EXISTS outcomes_hourly_mv;
DROP TABLE IF EXISTS cost_hourly;
DROP TABLE IF EXISTS cost_daily;
DROP TABLE IF EXISTS cache_hourly;
DROP TABLE IF EXISTS outcomes_hourly;
