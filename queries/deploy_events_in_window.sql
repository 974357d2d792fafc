-- deploy_events_in_window: every deploy event (started, progress, succeeded, failed,
-- rolled_back) in [$from, $to), optionally of one service, oldest first.
-- Parameters:
--   $from, $to            timestamps (UTC); the window, end exclusive
--   $from_date, $to_date  'YYYY-MM-DD'; the date partitions to read (prunes folders)
--   $service              a service name, or '' for every service
SELECT ts, deploy_id, service, version, previous_version, environment, status, percent, actor, commit, description, source, line
FROM deploys
WHERE date BETWEEN $from_date AND $to_date
  AND ts >= $from AND ts < $to
  AND ($service = '' OR service = $service)
ORDER BY ts, deploy_id, source, line
