-- service_activity: log volume per service in [$from, $to): all lines, warn lines,
-- error/fatal lines, 5xx responses, and the first error line's time.
-- Parameters:
--   $from, $to            timestamps (UTC); the window, end exclusive
--   $from_date, $to_date  'YYYY-MM-DD'; the date partitions to read (prunes folders)
--   $service              a service name, or '' for every service
SELECT
    service,
    count(*) AS lines,
    count(*) FILTER (WHERE level = 'warn') AS warn_lines,
    count(*) FILTER (WHERE level IN ('error', 'fatal')) AS error_lines,
    count(*) FILTER (WHERE status >= 500) AS status_5xx,
    min(ts) FILTER (WHERE level IN ('error', 'fatal')) AS first_error
FROM logs
WHERE date BETWEEN $from_date AND $to_date
  AND ts >= $from AND ts < $to
  AND ($service = '' OR service = $service)
GROUP BY service
ORDER BY service
