-- error_messages: error and fatal log lines (and warn lines when $include_warn) in
-- [$from, $to), oldest first: the input of template mining for new error signatures.
-- Parameters:
--   $from, $to            timestamps (UTC); the window, end exclusive
--   $from_date, $to_date  'YYYY-MM-DD'; the date partitions to read (prunes folders)
--   $service              a service name, or '' for every service
--   $include_warn         true to include warn lines
SELECT ts, service, msg, source, line
FROM logs
WHERE date BETWEEN $from_date AND $to_date
  AND ts >= $from AND ts < $to
  AND ($service = '' OR service = $service)
  AND msg IS NOT NULL
  AND (level IN ('error', 'fatal') OR ($include_warn AND level = 'warn'))
ORDER BY ts, source, line
