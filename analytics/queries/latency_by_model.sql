-- answers: How fast is each provider and model: latency and time-to-first-token p50/p95/p99?
--   Reads the latency_minutely rollup: successful attempts only, every tenant
--   (the rollup is per provider and model). Quantiles are ClickHouse's sampled
--   estimates, exact below 8192 attempts per provider and model.
-- param since DateTime64(3, 'UTC'): start of the window, inclusive (whole minutes)
-- param until DateTime64(3, 'UTC'): end of the window, exclusive
SELECT
    provider,
    model,
    attempts,
    round(latency[1], 1) AS latency_p50_ms,
    round(latency[2], 1) AS latency_p95_ms,
    round(latency[3], 1) AS latency_p99_ms,
    round(ttft[1], 1) AS ttft_p50_ms,
    round(ttft[2], 1) AS ttft_p95_ms,
    round(ttft[3], 1) AS ttft_p99_ms
FROM
(
    SELECT
        provider,
        model,
        countMerge(attempts) AS attempts,
        quantilesMerge(0.5, 0.95, 0.99)(latency) AS latency,
        quantilesMerge(0.5, 0.95, 0.99)(ttft) AS ttft
    FROM latency_minutely
    WHERE minute >= toStartOfMinute({since:DateTime64(3, 'UTC')})
      AND minute < {until:DateTime64(3, 'UTC')}
    GROUP BY provider, model
)
ORDER BY provider, model
