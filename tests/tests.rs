//! retrace's integration tests: one binary, one module per area.

/// Fixtures, temp warehouses, ingest and query helpers shared by the modules below.
mod common;

/// The demo report and digest in headless Chromium (ignored by default; `.ci/run` runs it).
mod browser;
/// One object parsed by several threads equals a sequential read (rejects, DST, year-less times).
mod chunks;
/// CLI runs end to end: exit statuses, stdout/stderr split, refused SQL, output formats.
mod cli;
/// The analyses on a Ballista cluster equal the local ones (`--features cluster`; ignored by default).
#[cfg(feature = "cluster")]
mod cluster;
/// Real loghub samples against their ground truth (ignored by default; `.ci/run` runs it).
mod conformance;
/// `retrace demo` on the bundled sample: the report names the culprit change.
mod demo;
/// Generated incident scenarios with ground truth: suspect ranking must be right.
mod evaluation;
/// Alerts, pages, chat and notes from responders' tools land in `incident_events`.
mod events;
/// Every input format end to end: patterns, logfmt, regex, Prometheus, exporter shapes, skew.
mod formats;
/// Property tests over arbitrary bytes: every format, the config, --param binding, renderer escaping.
mod fuzz;
/// Every query of the Grafana dashboard in docs/grafana runs through `retrace serve`.
mod grafana;
/// Re-ingest is idempotent; a changed object replaces its rows; interrupted runs recover.
mod idempotence;
/// Ingest of every kind and format into the warehouse, snapshotted table by table.
mod ingest;
/// DuckDB, polars and pyarrow read every table as retrace does (ignored by default; `.ci/run` runs it).
mod interop;
/// Secrets planted in changes, deploys, log lines and attributes reach no output file or stdout.
mod leaks;
/// The post-mortem corpus of issue 18 (ignored: `.ci/run` runs it).
mod postmortem;
/// Malformed records land in `rejects` with line and reason; counts add up.
mod rejects;
/// Reports over hostile content: escaping, terminal codes, redaction; report selection.
mod reports;
/// S3 against a real S3-compatible server (s3s-fs) on 127.0.0.1 (ignored by default; `.ci/run` runs it).
mod s3;
/// `retrace serve` with a PostgreSQL client library: protocols, types, read-only, limits, auth.
mod serve;
/// `retrace serve` with psql and psycopg (ignored by default; `.ci/run` installs and runs them).
mod serve_clients;
/// `ingest --shard k/n`: shards at once equal one ingest; bad shards are refused.
mod shard;
/// `retrace skew` estimates per-host clock offsets with their evidence.
mod skew;
/// SLIs from warehouse data: counter resets, good/total, thresholds, OpenSLO import.
mod slo;
/// The example SLO documents of OpenSLO, Sloth and Pyrra import, or are refused saying why.
mod slo_documents;
/// sqllogictest files for every canned query in queries/.
mod sqllogic;
/// The warehouse on a non-local object store (in-memory), queried through the catalog.
mod stores;
/// Robustness sweeps of issue 18: generated incident families with randomised parameters.
mod sweeps;
/// The timeline merges changes, deploys and error bursts in time order.
mod timeline;
/// Naive timestamps in a source zone land in UTC correctly, across DST changes.
mod timezones;
/// Real tools' output (nginx, rsyslog, Prometheus, OpenTelemetry, Kubernetes, LaunchDarkly) as written.
mod tools;
