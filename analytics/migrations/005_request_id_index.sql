-- Tracing one request (queries/request_usage.sql) filters on request_id, which is not
-- in the sort key; a bloom filter lets ClickHouse skip the granules without it.
-- Applies to parts written from now on (MATERIALIZE INDEX backfills, if ever needed).
ALTER TABLE usage_events
    ADD INDEX IF NOT EXISTS request_id_bloom request_id TYPE bloom_filter(0.01) GRANULARITY 4;
