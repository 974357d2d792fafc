-- error_bursts_vs_baseline: services whose error/fatal log lines in [$from, $to) ran at
-- least 3× their rate over the baseline [$baseline_from, $from), with at least 10 lines.
-- A service with no errors in the baseline counts as a burst from 10 lines on.
-- Parameters:
--   $from, $to                      timestamps (UTC); the window, end exclusive
--   $from_date, $to_date            its UTC days (partition pruning)
--   $baseline_from                  timestamp; start of the baseline window
--   $baseline_from_date             its UTC day
WITH counts AS (
    SELECT service,
           sum(CASE WHEN ts >= $from THEN 1 ELSE 0 END) AS during,
           sum(CASE WHEN ts < $from THEN 1 ELSE 0 END) AS before
    FROM logs
    WHERE ts >= $baseline_from AND ts < $to
      AND date >= $baseline_from_date AND date <= $to_date
      AND level IN ('error', 'fatal')
      AND service IS NOT NULL
    GROUP BY service
)
SELECT service, during, before
FROM counts
WHERE during >= 10
  AND during * (arrow_cast($from, 'Int64') - arrow_cast($baseline_from, 'Int64'))
      >= 3 * before * (arrow_cast($to, 'Int64') - arrow_cast($from, 'Int64'))
ORDER BY service
