-- answers: What did each tenant spend in the window, on how many attempts and tokens?
--   Exact: reads usage_events FINAL, so redelivered rows count once even before merges.
--   Spend is the sum over attempt rows (what providers billed, failed attempts included).
-- param since DateTime64(3, 'UTC'): start of the window, inclusive
-- param until DateTime64(3, 'UTC'): end of the window, exclusive
-- param tenant String = '': only this tenant; empty for every tenant
SELECT
    tenant,
    sum(cost) AS cost_usd,
    countIf(cost_unknown) AS cost_unknown_attempts,
    count() AS attempts,
    uniqExact(request_id) AS requests,
    sum(input_tokens) AS input_tokens,
    sum(output_tokens) AS output_tokens,
    sum(cached_input_tokens) AS cached_input_tokens,
    sum(reasoning_tokens) AS reasoning_tokens
FROM usage_events FINAL
WHERE kind = 'attempt'
  AND ts >= {since:DateTime64(3, 'UTC')} AND ts < {until:DateTime64(3, 'UTC')}
  AND ({tenant:String} = '' OR tenant = {tenant:String})
GROUP BY tenant
ORDER BY cost_usd DESC, tenant
