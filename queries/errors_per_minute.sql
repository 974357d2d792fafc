-- errors_per_minute: per service and minute, requests seen in logs, 5xx responses and
-- their ratio. An analyst's starting point for "when did it start, and where".
-- Parameters: none (add a `date` filter to read fewer partitions).
SELECT
    service,
    date_trunc('minute', ts) AS minute,
    count(*) FILTER (WHERE status IS NOT NULL) AS requests,
    count(*) FILTER (WHERE status >= 500) AS errors_5xx,
    CAST(count(*) FILTER (WHERE status >= 500) AS DOUBLE)
        / NULLIF(count(*) FILTER (WHERE status IS NOT NULL), 0) AS error_ratio
FROM logs
GROUP BY 1, 2
ORDER BY 1, 2
