-- canary_lines: the lines of the deployed services in [$from, $to) with a host, by
-- service and time: the host, whether the line is an error, and the message when it
-- names one of the versions the deploys rolled out ($versions, a regex alternation of
-- the escaped versions). `retrace suspects` reads this once per breach, for every
-- deployed service in one scan, and checks every deploy's partial rollout against it
-- (the per-deploy question is canary_hosts.sql).
-- Parameters:
--   $from, $to            timestamps (UTC); the window, end exclusive
--   $from_date, $to_date  'YYYY-MM-DD'; the date partitions to read (prunes folders)
--   $services             regex: ^(?:svc1|svc2|…)$ (each service escaped)
--   $versions             regex: v1|v2|… (each version escaped)
SELECT service,
       host,
       ts,
       level IN ('error', 'fatal') AS is_error,
       CASE WHEN regexp_like(msg, $versions) THEN msg END AS names_version
FROM logs
WHERE date BETWEEN $from_date AND $to_date
  AND ts >= $from AND ts < $to
  AND regexp_like(service, $services)
  AND host IS NOT NULL
ORDER BY service, ts
