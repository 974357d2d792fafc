-- skew_trace_pairs: clock-skew evidence from requests seen on both sides of a call. For
-- lines of two services on different hosts with the same trace_id, the one with the
-- longer latency_ms is the caller; the callee's line must fall inside the caller's
-- request, [caller ts − latency, caller ts]. Outside it, the gap is a lower bound on how
-- far the callee's clock is off the caller's. One row per (callee host, caller host).
-- Parameters:
--   $from, $to   timestamps (UTC); log lines considered, end exclusive
WITH calls AS (
    SELECT trace_id, service, host, ts, latency_ms
    FROM logs
    WHERE ts >= $from AND ts < $to AND trace_id IS NOT NULL AND host IS NOT NULL AND latency_ms IS NOT NULL
),
pairs AS (
    SELECT callee.host AS host, caller.host AS reference,
           CASE
               WHEN callee.ts > caller.ts
                   THEN (arrow_cast(callee.ts, 'Int64') - arrow_cast(caller.ts, 'Int64')) / 1000.0
               WHEN arrow_cast(callee.ts, 'Int64') < arrow_cast(caller.ts, 'Int64') - caller.latency_ms * 1000.0
                   THEN (arrow_cast(callee.ts, 'Int64') - arrow_cast(caller.ts, 'Int64')) / 1000.0 + caller.latency_ms
               ELSE 0.0
           END AS offset_ms
    FROM calls caller
    JOIN calls callee
      ON caller.trace_id = callee.trace_id
     AND caller.service <> callee.service
     AND caller.host <> callee.host
     AND caller.latency_ms > callee.latency_ms
)
SELECT host, 'trace_pair' AS evidence, reference,
       count(*) AS pairs, median(offset_ms) AS median_offset_ms,
       min(offset_ms) AS min_offset_ms, max(offset_ms) AS max_offset_ms
FROM pairs
GROUP BY host, reference
ORDER BY host, reference
