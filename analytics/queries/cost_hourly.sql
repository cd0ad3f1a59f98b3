-- answers: How did spend and tokens move hour by hour?
--   Reads the usage_hourly rollup, attempt rows (exact for rows written through the
--   sink; see README). Hours are whole: an hour is included when it starts inside the window.
-- param since DateTime64(3, 'UTC'): start of the window, inclusive
-- param until DateTime64(3, 'UTC'): end of the window, exclusive
-- param tenant String = '': only this tenant; empty for every tenant
SELECT
    hour AS bucket,
    sum(cost) AS cost_usd,
    sum(rows) AS attempts,
    sum(input_tokens) AS input_tokens,
    sum(output_tokens) AS output_tokens
FROM usage_hourly
WHERE kind = 'attempt'
  AND hour >= toStartOfHour({since:DateTime64(3, 'UTC')}) AND hour < {until:DateTime64(3, 'UTC')}
  AND ({tenant:String} = '' OR tenant = {tenant:String})
GROUP BY bucket
ORDER BY bucket
