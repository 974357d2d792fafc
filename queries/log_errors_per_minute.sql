-- log_errors_per_minute: error and fatal log lines (and warn lines when $include_warn)
-- per service, level and minute in [$from, $to), with the first line of each group as
-- evidence. The timeline merges these minutes into its buckets.
-- Parameters:
--   $from, $to            timestamps (UTC); the window, end exclusive
--   $from_date, $to_date  'YYYY-MM-DD'; the date partitions to read (prunes folders)
--   $service              a service name, or '' for every service
--   $include_warn         true to include warn lines
SELECT
    date_trunc('minute', ts) AS minute,
    service,
    level,
    count(*) AS lines,
    first_value(msg ORDER BY ts, source, line) AS first_msg,
    first_value(source ORDER BY ts, source, line) AS first_source,
    first_value(line ORDER BY ts, source, line) AS first_line
FROM logs
WHERE date BETWEEN $from_date AND $to_date
  AND ts >= $from AND ts < $to
  AND ($service = '' OR service = $service)
  AND (level IN ('error', 'fatal') OR ($include_warn AND level = 'warn'))
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3
