-- answers: What did each tenant spend in the window, on how many attempts and tokens?
--   Exact: reads usage_events FINAL, so redelivered rows count once even before merges.
--   Spend is the sum over attempt rows (what providers billed, failed attempts included);
--   requests counts request-outcome rows (cache hits and rejections included).
-- param since DateTime64(3, 'UTC'): start of the window, inclusive
-- param until DateTime64(3, 'UTC'): end of the window, exclusive
-- param tenant String = '': only this tenant; empty for every tenant
SELECT
    tenant,
    sumIf(cost, kind = 'attempt') AS cost_usd,
    countIf(cost_unknown AND kind = 'attempt') AS cost_unknown_attempts,
    countIf(kind = 'attempt') AS attempts,
    countIf(kind = 'request') AS requests,
    sumIf(input_tokens, kind = 'attempt') AS input_tokens,
    sumIf(output_tokens, kind = 'attempt') AS output_tokens,
    sumIf(cached_input_tokens, kind = 'attempt') AS cached_input_tokens,
    sumIf(reasoning_tokens, kind = 'attempt') AS reasoning_tokens
FROM usage_events FINAL
WHERE 1
  AND ts >= {since:DateTime64(3, 'UTC')} AND ts < {until:DateTime64(3, 'UTC')}
  AND ({tenant:String} = '' OR tenant = {tenant:String})
GROUP BY tenant
ORDER BY cost_usd DESC, tenant
