-- skew_deploy_starts: clock-skew evidence from deploys. A host that logs "starting …
-- version X" must do so while the deploy of X is running (between its first and last
-- event, from the deploy system's clock). A start line before the deploy began means the
-- host's clock is behind by at least the gap; after it ended, ahead by at least the gap.
-- One row per host: the median of those gaps (0 for lines inside the span).
-- Parameters:
--   $from, $to   timestamps (UTC); log lines considered, end exclusive
WITH spans AS (
    SELECT deploy_id, service, version, min(ts) AS started, max(ts) AS ended
    FROM deploys
    WHERE version IS NOT NULL
    GROUP BY deploy_id, service, version
    -- Only spans a start line of the window can be matched with (the hour rule below):
    -- without this, every line is joined with every deploy its service ever had.
    HAVING max(ts) + INTERVAL '1 hour' > $from AND min(ts) - INTERVAL '1 hour' < $to
),
starts AS (
    SELECT l.host, l.service, s.deploy_id,
           CASE
               WHEN l.ts < s.started THEN (arrow_cast(l.ts, 'Int64') - arrow_cast(s.started, 'Int64')) / 1000.0
               WHEN l.ts > s.ended THEN (arrow_cast(l.ts, 'Int64') - arrow_cast(s.ended, 'Int64')) / 1000.0
               ELSE 0.0
           END AS offset_ms
    FROM logs l
    JOIN spans s ON l.service = s.service AND strpos(l.msg, s.version) > 0
    WHERE l.ts >= $from AND l.ts < $to
      AND l.host IS NOT NULL
      AND regexp_like(l.msg, '(?i)\b(start(ing|ed)?|boot(ing|ed)?|listening|ready)\b')
      -- A start line more than an hour from the span belongs to another rollout.
      AND l.ts > s.started - INTERVAL '1 hour' AND l.ts < s.ended + INTERVAL '1 hour'
)
SELECT host, 'deploy_start' AS evidence, 'deploy system' AS reference,
       count(*) AS pairs, median(offset_ms) AS median_offset_ms,
       min(offset_ms) AS min_offset_ms, max(offset_ms) AS max_offset_ms
FROM starts
GROUP BY host
ORDER BY host
