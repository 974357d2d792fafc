-- canary_hosts: for a partial rollout, each host of the service in [$from, $to) with
-- whether it logged the new version (a "starting … $version" line, or any line naming
-- it), its error/fatal lines and all its lines. `retrace suspects` compares the hosts on
-- the new version with the rest.
-- Parameters:
--   $from, $to            timestamps (UTC); the window, end exclusive
--   $from_date, $to_date  'YYYY-MM-DD'; the date partitions to read (prunes folders)
--   $service              the deployed service
--   $version              the version the deploy rolled out
SELECT host,
       max(CASE WHEN strpos(msg, $version) > 0 THEN 1 ELSE 0 END) AS on_new,
       sum(CASE WHEN level IN ('error', 'fatal') THEN 1 ELSE 0 END) AS errors,
       count(*) AS lines
FROM logs
WHERE date BETWEEN $from_date AND $to_date
  AND ts >= $from AND ts < $to
  AND service = $service
  AND host IS NOT NULL
GROUP BY host
ORDER BY host
