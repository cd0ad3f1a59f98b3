-- answers: How is the semantic cache doing: hits by kind, rejected candidates, savings?
--   Exact: reads usage_events FINAL, request outcomes only (kind = 'request').
--   The gateway tags each outcome with tags['cache'] = exact | semantic | miss |
--   bypass, and tags['cache_rejected'] = candidates that looked close but failed
--   verification (each one a wrong answer the cache did not give).
-- param since DateTime64(3, 'UTC'): start of the window, inclusive
-- param until DateTime64(3, 'UTC'): end of the window, exclusive
-- param tenant String = '': only this tenant; empty for every tenant
SELECT
    route,
    count() AS requests,
    countIf(tags['cache'] = 'exact') AS exact_hits,
    countIf(tags['cache'] = 'semantic') AS semantic_hits,
    countIf(tags['cache'] = 'miss') AS misses,
    countIf(tags['cache'] = 'bypass') AS bypassed,
    round(if(count() = 0, 0, countIf(cached) / count()), 4) AS hit_rate,
    sum(toUInt64OrZero(tags['cache_rejected'])) AS rejected_candidates,
    sum(cost_saved) AS cost_saved_usd
FROM usage_events FINAL
WHERE kind = 'request'
  AND ts >= {since:DateTime64(3, 'UTC')} AND ts < {until:DateTime64(3, 'UTC')}
  AND ({tenant:String} = '' OR tenant = {tenant:String})
GROUP BY route
ORDER BY requests DESC, route
