-- canary_lines: the lines of one service in [$from, $to) with a host, in time order: the
-- host, whether the line is an error, and the message when it names one of the versions
-- the service's deploys rolled out ($versions, a regex alternation of the escaped
-- versions). `retrace suspects` reads this once per service and breach and checks every
-- deploy's partial rollout against it (the per-deploy question is canary_hosts.sql).
-- Parameters:
--   $from, $to            timestamps (UTC); the window, end exclusive
--   $from_date, $to_date  'YYYY-MM-DD'; the date partitions to read (prunes folders)
--   $service              the deployed service
--   $versions             regex: v1|v2|… (each version escaped)
SELECT host,
       ts,
       level IN ('error', 'fatal') AS is_error,
       CASE WHEN regexp_like(msg, $versions) THEN msg END AS names_version
FROM logs
WHERE date BETWEEN $from_date AND $to_date
  AND ts >= $from AND ts < $to
  AND service = $service
  AND host IS NOT NULL
ORDER BY ts
