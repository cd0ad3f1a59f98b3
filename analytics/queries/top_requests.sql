-- answers: Which requests cost the most in the window?
--   Exact: reads usage_events FINAL. One row per request outcome (kind = 'request'),
--   whose cost is the total of its attempts.
-- param since DateTime64(3, 'UTC'): start of the window, inclusive
-- param until DateTime64(3, 'UTC'): end of the window, exclusive
-- param tenant String = '': only this tenant; empty for every tenant
-- param limit UInt32 = 20: how many requests
SELECT
    request_id,
    tenant,
    route,
    provider,
    model,
    status,
    cost AS cost_usd,
    input_tokens,
    output_tokens,
    fallback_depth,
    latency_ms,
    ts
FROM usage_events FINAL
WHERE kind = 'request'
  AND ts >= {since:DateTime64(3, 'UTC')} AND ts < {until:DateTime64(3, 'UTC')}
  AND ({tenant:String} = '' OR tenant = {tenant:String})
ORDER BY cost DESC, request_id
LIMIT {limit:UInt32}
