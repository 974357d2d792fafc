-- incident_events_in_window: what people and their tools did in [$from, $to) — alerts,
-- pages, acknowledgements, escalations, declarations, status updates, chat, notes,
-- actions — optionally of one service (events that name no service are kept: a page or
-- a chat line about the incident often names none), oldest first.
-- Parameters:
--   $from, $to            timestamps (UTC); the window, end exclusive
--   $from_date, $to_date  'YYYY-MM-DD'; the date partitions to read (prunes folders)
--   $service              a service name, or '' for every service
SELECT ts, kind, service, actor, title, text, ref, severity, source, line
FROM incident_events
WHERE date BETWEEN $from_date AND $to_date
  AND ts >= $from AND ts < $to
  AND ($service = '' OR service = $service OR service IS NULL)
ORDER BY ts, kind, source, line
