-- changes_in_window: config changes in [$from, $to), optionally of one service, oldest first.
-- Parameters:
--   $from, $to            timestamps (UTC); the window, end exclusive
--   $from_date, $to_date  'YYYY-MM-DD'; the date partitions to read (prunes folders)
--   $service              a service name, or '' for every service
SELECT ts, change_id, service, system, key, old_value, new_value, actor, scope, description, reverts, source, line
FROM changes
WHERE date BETWEEN $from_date AND $to_date
  AND ts >= $from AND ts < $to
  AND ($service = '' OR service = $service)
ORDER BY ts, change_id, source, line
