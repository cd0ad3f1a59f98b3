-- answers: What did failed attempts and fallbacks cost, per route, provider and model?
--   Exact: reads usage_events FINAL. failed_cost: attempts with status != 'ok' that
--   still billed; fallback_cost: attempts past the first target of the route's chain.
-- param since DateTime64(3, 'UTC'): start of the window, inclusive
-- param until DateTime64(3, 'UTC'): end of the window, exclusive
-- param tenant String = '': only this tenant; empty for every tenant
SELECT
    route,
    provider,
    model,
    countIf(status != 'ok') AS failed_attempts,
    sumIf(cost, status != 'ok') AS failed_cost_usd,
    countIf(fallback_depth > 0) AS fallback_attempts,
    sumIf(cost, fallback_depth > 0) AS fallback_cost_usd
FROM usage_events FINAL
WHERE kind = 'attempt'
  AND ts >= {since:DateTime64(3, 'UTC')} AND ts < {until:DateTime64(3, 'UTC')}
  AND ({tenant:String} = '' OR tenant = {tenant:String})
  AND (status != 'ok' OR fallback_depth > 0)
GROUP BY route, provider, model
ORDER BY failed_cost_usd + fallback_cost_usd DESC, route, provider, model
