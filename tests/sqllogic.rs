//! sqllogictest files for the canned queries (`tests/slt/*.slt`), run against a warehouse
//! ingested from `tests/fixtures/basic`. A record whose SQL is
//!
//! ```text
//! @file queries/changes_in_window.sql from=2026-11-19T13:00Z to=2026-11-19T15:00Z …
//! ```
//!
//! runs that file with those parameters, bound exactly as `retrace sql -f … --param` binds
//! them: the files the Rust code includes are the files under test.
//!
//! After an intended change: `RETRACE_SLT_COMPLETE=1 cargo test --test tests sqllogic`
//! rewrites the expected results; review the diff.

use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::prelude::SessionContext;
use sqllogictest::{DBOutput, DefaultColumnType};

struct Warehouse {
    ctx: SessionContext,
    /// The sandbox folder, shown as `[SANDBOX]` so results do not depend on the machine.
    root: String,
}

#[async_trait::async_trait]
impl sqllogictest::AsyncDB for Warehouse {
    type Error = retrace::Error;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, retrace::Error> {
        let sql = sql.trim();
        let (text, params) = match sql.strip_prefix("@file ") {
            Some(rest) => {
                let mut words = rest.split_whitespace();
                let file = words.next().unwrap_or_default();
                let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
                let text = std::fs::read_to_string(&path).map_err(|e| retrace::Error::io(path.display(), e))?;
                let raw: Vec<String> = words.map(str::to_string).collect();
                (text, retrace::commands::parse_params(&raw)?)
            }
            None => (sql.to_string(), Default::default()),
        };
        let plan = self.ctx.state().create_logical_plan(&text).await?;
        retrace::catalog::read_only().verify_plan(&plan)?;
        let plan = retrace::commands::bind_params(plan, &params)?;
        let batches = self.ctx.execute_logical_plan(plan).await?.collect().await?;
        let columns = batches.first().map_or(0, |b| b.num_columns());
        let options = FormatOptions::default().with_null("NULL");
        let mut rows = Vec::new();
        for b in &batches {
            let formatters: Vec<ArrayFormatter> =
                b.columns().iter().map(|c| ArrayFormatter::try_new(c.as_ref(), &options)).collect::<Result<_, _>>()?;
            for i in 0..b.num_rows() {
                rows.push(formatters.iter().map(|f| f.value(i).to_string().replace(&self.root, "[SANDBOX]")).collect());
            }
        }
        Ok(DBOutput::Rows { types: vec![DefaultColumnType::Any; columns], rows })
    }

    async fn shutdown(&mut self) {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canned_queries() {
    let (sb, config) = crate::common::basic_sandbox();
    sb.ingest(&config).await;
    let warehouse = sb.warehouse();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/slt");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.path()).collect();
    files.sort();
    assert!(files.len() >= 10, "{files:?}");
    for file in files {
        let ctx = retrace::catalog::open(&warehouse).await.unwrap();
        let root = sb.path().display().to_string();
        let mut runner = sqllogictest::Runner::new(move || {
            let (ctx, root) = (ctx.clone(), root.clone());
            async move { Ok::<_, retrace::Error>(Warehouse { ctx, root }) }
        });
        if std::env::var_os("RETRACE_SLT_COMPLETE").is_some() {
            runner
                .update_test_file(
                    &file,
                    " ",
                    sqllogictest::default_validator,
                    sqllogictest::default_normalizer,
                    sqllogictest::default_column_validator,
                )
                .await
                .unwrap();
        } else {
            runner.run_file_async(&file).await.unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        }
    }
}
