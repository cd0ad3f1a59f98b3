-- answers: Per route, how often did the cache answer and how much did it save?
--   Reads the usage_hourly rollup, request rows (exact for rows written through the
--   sink; see README).
--   hit_rate = cache hits / requests; savings are what the provider would have billed.
-- param since DateTime64(3, 'UTC'): start of the window, inclusive (whole hours)
-- param until DateTime64(3, 'UTC'): end of the window, exclusive
-- param tenant String = '': only this tenant; empty for every tenant
SELECT
    route,
    requests,
    cache_hits,
    round(if(requests = 0, 0, cache_hits / requests), 4) AS hit_rate,
    cost_saved_usd,
    round(if(similarity_rows = 0, NULL, similarity_sum / similarity_rows), 4)
        AS mean_hit_similarity
FROM
(
    SELECT
        route,
        sum(rows) AS requests,
        sum(hits) AS cache_hits,
        sum(cost_saved) AS cost_saved_usd,
        sum(similarity_sum) AS similarity_sum,
        sum(similarity_rows) AS similarity_rows
    FROM usage_hourly
    WHERE kind = 'request'
      AND hour >= toStartOfHour({since:DateTime64(3, 'UTC')})
      AND hour < {until:DateTime64(3, 'UTC')}
      AND ({tenant:String} = '' OR tenant = {tenant:String})
    GROUP BY route
)
ORDER BY cost_saved_usd DESC, route
