-- answers: Which usage rows did one request produce (its attempts and its outcome)?
--   Exact: reads usage_events FINAL. Used by operators tracing one request and by
--   the end-to-end tests to check that every request reached ClickHouse once.
-- param request_id String: the request's id
SELECT
    event_id,
    kind,
    attempt,
    tenant,
    route,
    provider,
    model,
    status,
    error_code,
    input_tokens,
    output_tokens,
    cost AS cost_usd,
    cost_unknown,
    fallback_depth,
    latency_ms,
    ts
FROM usage_events FINAL
WHERE request_id = {request_id:String}
ORDER BY kind, attempt
