-- timeline: the part of `retrace timeline` that SQL expresses, registered as a view:
-- config changes, deploys as spans, and error/fatal log lines per service in 5-minute
-- buckets, one time-ordered stream. (Breaches, new error signatures, bursts against a
-- baseline and loops are computed by `retrace timeline`.)
-- Columns: ts, end_ts, kind, service, severity, title, lines, source, line.
-- Parameters: none (filter on ts; add a `date` filter to read fewer partitions).
SELECT ts, CAST(NULL AS TIMESTAMP) AS end_ts, 'change' AS kind, service,
       CASE WHEN reverts IS NULL THEN 'info' ELSE 'warn' END AS severity,
       concat(change_id, ' ', coalesce(key, ''), ': ', coalesce(old_value, '∅'), ' → ', coalesce(new_value, '∅')) AS title,
       CAST(1 AS BIGINT) AS lines, source, line
FROM changes
UNION ALL
SELECT started, ended, 'deploy', service,
       CASE WHEN final_status IN ('failed', 'rolled_back') THEN 'warn' ELSE 'info' END,
       concat(deploy_id, ' ', coalesce(previous_version, '?'), ' → ', coalesce(version, '?'), ': ', final_status),
       events, source, line
FROM deploy_spans
UNION ALL
SELECT date_bin(INTERVAL '5 minutes', ts) AS bucket, date_bin(INTERVAL '5 minutes', ts) + INTERVAL '5 minutes', 'errors', service,
       'error', concat(count(*), ' ', level, ' log lines'), count(*), min(source), min(line)
FROM logs
WHERE level IN ('error', 'fatal')
GROUP BY date_bin(INTERVAL '5 minutes', ts), service, level
