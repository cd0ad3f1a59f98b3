-- Latency quantiles per provider and model per minute, from successful attempts
-- (a timed-out attempt's latency is the timeout, not the provider's speed).
-- Read with quantilesMerge(0.5, 0.95, 0.99)(latency) and countMerge(attempts).
CREATE TABLE IF NOT EXISTS latency_minutely
(
    minute      DateTime('UTC'),
    provider    LowCardinality(String),
    model       LowCardinality(String),
    attempts    AggregateFunction(count),
    latency     AggregateFunction(quantiles(0.5, 0.95, 0.99), Float64),
    ttft        AggregateFunction(quantiles(0.5, 0.95, 0.99), Float64)
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(minute)
ORDER BY (provider, model, minute)
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS latency_minutely_mv TO latency_minutely AS
SELECT
    toStartOfMinute(ts) AS minute, provider, model,
    countState() AS attempts,
    quantilesState(0.5, 0.95, 0.99)(latency_ms) AS latency,
    quantilesStateIf(0.5, 0.95, 0.99)(assumeNotNull(ttft_ms), ttft_ms IS NOT NULL) AS ttft
FROM usage_events
WHERE kind = 'attempt' AND status = 'ok'
GROUP BY minute, provider, model;
