-- error_peak_minutes: for each service, the minute with the most error/fatal log lines in
-- [$from, $to); the three busiest services, busiest first (ties: earlier minute, service).
-- Parameters:
--   $from, $to            timestamps (UTC); the window, end exclusive
--   $from_date, $to_date  'YYYY-MM-DD'; the date partitions to read (prunes folders)
--   $service              a service name, or '' for every service
SELECT minute, service, lines
FROM (
    SELECT minute, service, lines,
           row_number() OVER (PARTITION BY service ORDER BY lines DESC, minute) AS rank
    FROM (
        SELECT date_trunc('minute', ts) AS minute, service, count(*) AS lines
        FROM logs
        WHERE date BETWEEN $from_date AND $to_date
          AND ts >= $from AND ts < $to
          AND ($service = '' OR service = $service)
          AND level IN ('error', 'fatal')
        GROUP BY 1, 2
    )
)
WHERE rank = 1
ORDER BY lines DESC, minute, service
LIMIT 3
