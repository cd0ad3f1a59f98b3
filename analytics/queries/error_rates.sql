-- answers: Per route, what share of requests failed, fell back, and of attempts failed?
--   Reads the usage_hourly rollup (exact for rows written through the sink; see README).
--   error_rate: request rows with status != 'ok' / request rows;
--   fallback_rate: request rows served past the first target / request rows;
--   attempt_error_rate: attempt rows with status != 'ok' / attempt rows.
-- param since DateTime64(3, 'UTC'): start of the window, inclusive (whole hours)
-- param until DateTime64(3, 'UTC'): end of the window, exclusive
-- param tenant String = '': only this tenant; empty for every tenant
SELECT
    route,
    sumIf(rows, kind = 'request') AS requests,
    sumIf(rows, kind = 'request' AND status != 'ok') AS failed_requests,
    round(if(requests = 0, 0, failed_requests / requests), 4) AS error_rate,
    sumIf(fallback_rows, kind = 'request') AS fallback_requests,
    round(if(requests = 0, 0, fallback_requests / requests), 4) AS fallback_rate,
    sumIf(rows, kind = 'attempt') AS attempts,
    sumIf(rows, kind = 'attempt' AND status != 'ok') AS failed_attempts,
    round(if(attempts = 0, 0, failed_attempts / attempts), 4) AS attempt_error_rate,
    topKWeightedIf(3)(error_code, rows, status != 'ok' AND error_code != '') AS top_error_codes
FROM usage_hourly
WHERE hour >= toStartOfHour({since:DateTime64(3, 'UTC')}) AND hour < {until:DateTime64(3, 'UTC')}
  AND ({tenant:String} = '' OR tenant = {tenant:String})
GROUP BY route
ORDER BY requests DESC, route
