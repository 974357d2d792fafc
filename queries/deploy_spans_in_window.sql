-- deploy_spans_in_window: deploys (see the deploy_spans view) that overlap [$from, $to),
-- optionally of one service, in start order.
-- Parameters:
--   $from, $to   timestamps (UTC); the window, end exclusive
--   $service     a service name, or '' for every service
SELECT deploy_id, service, version, previous_version, environment, started, ended, final_status, max_percent, events,
       source, line
FROM deploy_spans
WHERE started < $to AND ended >= $from
  AND ($service = '' OR service = $service)
ORDER BY started, deploy_id
