-- answers: How did spend and tokens move day by day (UTC days)?
--   Reads the cost_daily rollup (exact for rows written through the sink; see README).
--   Days are whole: a day is included when it starts inside the window.
-- param since DateTime64(3, 'UTC'): start of the window, inclusive
-- param until DateTime64(3, 'UTC'): end of the window, exclusive
-- param tenant String = '': only this tenant; empty for every tenant
SELECT
    day AS bucket,
    sum(cost) AS cost_usd,
    sum(attempts) AS attempts,
    sum(input_tokens) AS input_tokens,
    sum(output_tokens) AS output_tokens
FROM cost_daily
WHERE day >= toDate({since:DateTime64(3, 'UTC')}) AND day < {until:DateTime64(3, 'UTC')}
  AND ({tenant:String} = '' OR tenant = {tenant:String})
GROUP BY bucket
ORDER BY bucket
