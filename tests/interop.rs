//! Our Parquet is a contract with the analysts' tools: every warehouse table is read by
//! DuckDB, polars and pyarrow (tests/interop/read_warehouse.py) with the row counts and
//! UTC instants retrace itself reads. Ignored by default (needs a Python with the three);
//! `.ci/run` makes a venv, installs them from PyPI and runs it with RETRACE_PYTHON set.

use std::process::Command;

use datafusion::arrow::array::{Array, Int64Array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;

use crate::common::basic_sandbox;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Python with duckdb, polars, pyarrow; .ci/run sets RETRACE_PYTHON"]
async fn duckdb_polars_and_pyarrow_read_every_table_as_retrace_does() {
    let Ok(python) = std::env::var("RETRACE_PYTHON") else {
        assert!(std::env::var("CI").is_err(), "CI must set RETRACE_PYTHON (.ci/run makes the venv)");
        eprintln!("skipped: set RETRACE_PYTHON to a Python with duckdb, polars and pyarrow");
        return;
    };
    let (sb, config) = basic_sandbox();
    // Two days of logs and a malformed line, so there are date partitions and rejects.
    sb.write(
        "logs/more.jsonl",
        b"{\"ts\":\"2026-11-20T00:00:01.5+01:00\",\"service\":\"edge\",\"level\":\"info\",\"msg\":\"late\"}\n{not json\n",
    );
    sb.ingest(&config).await;

    let mut expected = serde_json::Map::new();
    for table in retrace::tables::ALL_TABLES {
        let rows: usize = sb.sql_batches(&format!("SELECT * FROM {table}")).await.iter().map(|b| b.num_rows()).sum();
        let mut entry = serde_json::json!({ "rows": rows });
        if table != retrace::tables::REJECTS {
            let batches = sb.sql_batches(&format!("SELECT ts FROM {table}")).await;
            let mut micros = Vec::new();
            for b in &batches {
                let ints = cast(b.column(0), &DataType::Int64).unwrap();
                let ints = ints.as_any().downcast_ref::<Int64Array>().unwrap();
                micros.extend((0..ints.len()).map(|i| ints.value(i)));
            }
            let checksum: i64 = micros.iter().map(|m| m.rem_euclid(1_000_000_007)).sum();
            entry["ts"] = serde_json::json!([micros.iter().min(), micros.iter().max(), checksum]);
        }
        expected.insert(table.to_string(), entry);
    }
    assert!(expected["rejects"]["rows"].as_u64().unwrap() >= 1, "{expected:?}");
    let path = sb.path().join("expected.json");
    std::fs::write(&path, serde_json::to_vec(&expected).unwrap()).unwrap();

    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/read_warehouse.py");
    let out = Command::new(python).arg(script).arg(sb.warehouse_path()).arg(&path).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("all tables read identically"), "{stdout}");
    eprintln!("{stdout}");
}
