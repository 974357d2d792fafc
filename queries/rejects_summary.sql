-- rejects_summary: rejected records per table and reason, with one example each.
-- Answers: what could not be ingested, and why. Parameters: none.
SELECT
    table_name,
    reason,
    count(*) AS records,
    count(DISTINCT source) AS objects,
    first_value(detail ORDER BY source, line) AS example_detail,
    first_value(source ORDER BY source, line) AS example_source,
    first_value(line ORDER BY source, line) AS example_line
FROM rejects
GROUP BY table_name, reason
ORDER BY table_name, reason
