-- error_budget: an SLO's error budget over a window from log lines: requests (lines with
-- a status), bad ones (status >= 500), the error ratio, and the share of the window's
-- budget consumed at $objective. The log-based counterpart of `retrace slo --summary`.
-- Parameters:
--   $from, $to            timestamps (UTC); the window, end exclusive
--   $from_date, $to_date  'YYYY-MM-DD'; the date partitions to read (prunes folders)
--   $service              a service name
--   $objective            the SLO's objective, e.g. 0.999
SELECT service,
       count(*) AS requests,
       count(*) FILTER (WHERE status >= 500) AS bad,
       CAST(count(*) FILTER (WHERE status >= 500) AS DOUBLE) / NULLIF(count(*), 0) AS error_ratio,
       100.0 * count(*) FILTER (WHERE status >= 500) / NULLIF((1.0 - $objective) * count(*), 0) AS budget_consumed_pct
FROM logs
WHERE date BETWEEN $from_date AND $to_date
  AND ts >= $from AND ts < $to
  AND service = $service
  AND status IS NOT NULL
GROUP BY service
