-- answers: How did spend and tokens move day by day (UTC days)?
--   Sums the usage_hourly rollup's attempt rows by day (exact for rows written
--   through the sink; see README). Days are whole: a day is included when it starts
--   inside the window, and the day holding `since` counts from its start.
-- param since DateTime64(3, 'UTC'): start of the window, inclusive
-- param until DateTime64(3, 'UTC'): end of the window, exclusive
-- param tenant String = '': only this tenant; empty for every tenant
SELECT
    toDate(hour) AS bucket,
    sum(cost) AS cost_usd,
    sum(rows) AS attempts,
    sum(input_tokens) AS input_tokens,
    sum(output_tokens) AS output_tokens
FROM usage_hourly
WHERE kind = 'attempt'
  AND hour >= toStartOfDay({since:DateTime64(3, 'UTC')})
  AND toStartOfDay(hour) < {until:DateTime64(3, 'UTC')}
  AND ({tenant:String} = '' OR tenant = {tenant:String})
GROUP BY bucket
ORDER BY bucket
