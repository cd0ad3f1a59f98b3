-- The usage fact table: one row per provider attempt (kind = 'attempt') and one per
-- request outcome (kind = 'request'), as published on tokenyard.usage.
--
-- Idempotency: the same event always carries the same event_id and the same values,
-- so (tenant, ts, event_id) is a deterministic key. ReplacingMergeTree collapses
-- copies that share the sort key when parts merge; queries that must be exact before
-- merges read this table with FINAL (see analytics/README.md). A copy can never land
-- in another partition: the partition is a function of ts, which is part of the event.
CREATE TABLE IF NOT EXISTS usage_events
(
    ts                  DateTime64(3, 'UTC'),
    event_id            String,
    kind                LowCardinality(String),
    request_id          String,
    attempt             UInt16,
    tenant              LowCardinality(String),
    route               LowCardinality(String),
    provider            LowCardinality(String),
    model               LowCardinality(String),
    status              LowCardinality(String),
    error_code          LowCardinality(String),
    input_tokens        UInt64,
    output_tokens       UInt64,
    cached_input_tokens UInt64,
    reasoning_tokens    UInt64,
    cost                Decimal(18, 9),
    cost_unknown        Bool,
    cost_saved          Decimal(18, 9),
    cached              Bool,
    similarity          Nullable(Float32),
    latency_ms          Float64,
    ttft_ms             Nullable(Float64),
    fallback_depth      UInt8,
    priority            LowCardinality(String),
    tags                Map(LowCardinality(String), String),
    inserted_at         DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (tenant, ts, event_id)
SETTINGS non_replicated_deduplication_window = 1000;
