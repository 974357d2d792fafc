-- deploy_spans: one row per deploy (events sharing a deploy_id), registered as a view.
-- Answers: which deploys ran when, for how long, how far they rolled out, how they ended.
-- Columns: deploy_id, service, version, previous_version, environment, started (first
-- event), ended (last event), final_status (status of the last event), max_percent, events,
-- source and line (of the first event: the span's evidence).
-- Parameters: none.
SELECT
    deploy_id,
    first_value(service ORDER BY ts) AS service,
    first_value(version ORDER BY ts) AS version,
    first_value(previous_version ORDER BY ts) AS previous_version,
    first_value(environment ORDER BY ts) AS environment,
    min(ts) AS started,
    max(ts) AS ended,
    last_value(status ORDER BY ts, line) AS final_status,
    max(percent) AS max_percent,
    count(*) AS events,
    first_value(source ORDER BY ts, line) AS source,
    first_value(line ORDER BY ts, line) AS line
FROM deploys
GROUP BY deploy_id
