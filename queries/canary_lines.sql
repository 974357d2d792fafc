-- canary_lines: the lines of the deployed services in [$from, $to) with a host, by
-- service and time: the host, whether the line is an error, and the message.
-- `retrace suspects` reads this once per breach, for every deployed service in one scan,
-- finds the messages that name a deployed version itself (one compiled pattern for the
-- whole scan: in SQL, regexp_like compiled its pattern of ~2,500 versions again for
-- every batch), and checks every deploy's partial rollout against them (the per-deploy
-- question is canary_hosts.sql).
-- Parameters:
--   $from, $to            timestamps (UTC); the window, end exclusive
--   $from_date, $to_date  'YYYY-MM-DD'; the date partitions to read (prunes folders)
--   $services             regex: ^(?:svc1|svc2|…)$ (each service escaped)
--   $needle               text every deployed version contains ('' for none): messages
--                         without it name no version and come back as NULL
SELECT service,
       host,
       ts,
       level IN ('error', 'fatal') AS is_error,
       CASE WHEN strpos(msg, $needle) > 0 THEN msg END AS msg
FROM logs
WHERE date BETWEEN $from_date AND $to_date
  AND ts >= $from AND ts < $to
  AND regexp_like(service, $services)
  AND host IS NOT NULL
ORDER BY service, ts
