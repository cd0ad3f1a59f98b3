-- Cache hit rate and savings per route per hour, from request rows (a cache hit has
-- no attempt row; its request row carries cached = true and cost_saved).
CREATE TABLE IF NOT EXISTS cache_hourly
(
    hour            DateTime('UTC'),
    tenant          LowCardinality(String),
    route           LowCardinality(String),
    requests        UInt64,
    hits            UInt64,
    cost_saved      Decimal(38, 9),
    similarity_sum  Float64,
    similarity_rows UInt64
)
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (tenant, hour, route)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS cache_hourly_mv TO cache_hourly AS
SELECT
    toStartOfHour(ts) AS hour, tenant, route,
    count() AS requests,
    countIf(cached) AS hits,
    toDecimal128(sum(cost_saved), 9) AS cost_saved,
    sumIf(toFloat64(assumeNotNull(similarity)), cached AND similarity IS NOT NULL) AS similarity_sum,
    countIf(cached AND similarity IS NOT NULL) AS similarity_rows
FROM usage_events
WHERE kind = 'request'
GROUP BY hour, tenant, route;

-- Error and fallback rates: rows per (kind, status, error_code) per route per hour.
-- error rate = rows with status != 'ok' / rows, per kind; fallback rate = request
-- rows with fallback_depth > 0 / request rows.
CREATE TABLE IF NOT EXISTS outcomes_hourly
(
    hour            DateTime('UTC'),
    tenant          LowCardinality(String),
    route           LowCardinality(String),
    kind            LowCardinality(String),
    status          LowCardinality(String),
    error_code      LowCardinality(String),
    rows            UInt64,
    fallback_rows   UInt64,
    cost            Decimal(38, 9)
)
ENGINE = SummingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (tenant, hour, route, kind, status, error_code)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS outcomes_hourly_mv TO outcomes_hourly AS
SELECT
    toStartOfHour(ts) AS hour, tenant, route, kind, status, error_code,
    count() AS rows,
    countIf(fallback_depth > 0) AS fallback_rows,
    toDecimal128(sum(cost), 9) AS cost
FROM usage_events
GROUP BY hour, tenant, route, kind, status, error_code;
