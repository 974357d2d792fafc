//! What one query may take: memory, time and expression depth.
//!
//! Without limits a cross join reached 10 GB in 20 s, and under a memory limit the
//! process aborted (exit 134) instead of failing; a recursive query without an end ran
//! forever; a 10,000-term expression overflowed the stack. Here:
//! - memory: every session gets a DataFusion memory pool (`FairSpillPool`): sorts,
//!   aggregates, repartitions and nested-loop joins spill to disk when they reach it;
//!   what cannot spill (a hash join's build side, a cross join's buffered side) fails
//!   with [`Error::QueryLimit`], which names the limit and how to raise it. The default
//!   is half of the memory this process can have: the machine's, or less under a
//!   cgroup limit or an address-space rlimit (`ulimit -v`);
//! - time: `--timeout` stops the query (its tasks are cancelled with its stream), and a
//!   watchdog ends the process if a CPU-bound operator does not yield in time;
//! - depth: expressions nested deeper than [`MAX_EXPR_DEPTH`] are refused before
//!   planning, with the depth in the message.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Duration;

use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::memory_pool::{FairSpillPool, MemoryPool, TrackConsumersPool};
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::sql::parser::Statement as DFStatement;
use datafusion::sql::sqlparser::ast::{Expr, Visit, Visitor};

use crate::error::{Error, Result};

/// Deepest expression a query may hold (`a + b + …` counts one level per operator).
pub const MAX_EXPR_DEPTH: usize = 500;

/// The memory and time one query may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryLimits {
    /// Bytes the query's operators may hold before spilling or failing.
    pub memory: usize,
    /// `None`: no time limit.
    pub timeout: Option<Duration>,
}

impl Default for QueryLimits {
    fn default() -> Self {
        QueryLimits { memory: default_memory(), timeout: None }
    }
}

/// Half of what this process can have ([`available_memory`]).
pub fn default_memory() -> usize {
    (available_memory() / 2) as usize
}

/// The least of the machine's memory, the cgroup's limit and the address-space rlimit.
pub fn available_memory() -> u64 {
    let mut least = read_meminfo_total().unwrap_or(4 << 30);
    let cgroup = std::fs::read_to_string("/sys/fs/cgroup/memory.max").ok().and_then(|s| s.trim().parse::<u64>().ok());
    if let Some(c) = cgroup {
        least = least.min(c);
    }
    if let Some(rlimit) = address_space_limit() {
        // An address-space limit counts the binary, thread stacks and allocator slack
        // too; keep a quarter of it for them.
        least = least.min(rlimit / 4 * 3);
    }
    least
}

fn read_meminfo_total() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// `ulimit -v`, from `/proc/self/limits` ("Max address space  <soft>  <hard>  bytes").
fn address_space_limit() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max address space"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// `512MB`, `2GiB`, `1.5g`, `100000` (bytes).
pub fn parse_size(s: &str) -> std::result::Result<usize, String> {
    let t = s.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().map_err(|_| format!("`{s}` is not a size (e.g. 512MB, 2GiB)"))?;
    let scale: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" | "kib" => 1024.0,
        "m" | "mb" | "mib" => 1024.0 * 1024.0,
        "g" | "gb" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tb" | "tib" => 1024.0f64.powi(4),
        other => return Err(format!("`{s}`: unknown unit `{other}` (use B, KB, MB, GB, TB)")),
    };
    let bytes = n * scale;
    if bytes.is_nan() || bytes < 1024.0 * 1024.0 {
        return Err(format!("`{s}` is too small for a query (at least 1MB)"));
    }
    Ok(bytes as usize)
}

/// A size for messages: `1.5 GB`, `512 MB`.
pub fn show_size(bytes: usize) -> String {
    let b = bytes as f64;
    if b >= (1u64 << 30) as f64 {
        format!("{:.1} GB", b / (1u64 << 30) as f64)
    } else {
        format!("{:.0} MB", b / (1u64 << 20) as f64)
    }
}

/// The runtime every session of this process runs on: the memory pool and the spill
/// folder (the system temp dir).
pub fn runtime(limits: &QueryLimits) -> Result<Arc<RuntimeEnv>> {
    Ok(RuntimeEnvBuilder::new()
        .with_memory_pool(memory_pool(limits.memory))
        .with_disk_manager_builder(DiskManagerBuilder::default().with_mode(DiskManagerMode::OsTmpDirectory))
        .build_arc()?)
}

/// A pool of `bytes` that spills fairly and names its three largest consumers when full.
pub fn memory_pool(bytes: usize) -> Arc<dyn MemoryPool> {
    Arc::new(TrackConsumersPool::new(FairSpillPool::new(bytes), std::num::NonZeroUsize::new(3).expect("non-zero")))
}

/// A query that hit the memory pool, told as what to do about it; other errors as they are.
pub fn explain(e: datafusion::error::DataFusionError, limits: &QueryLimits) -> Error {
    match memory_message(&e, limits) {
        Some(message) => Error::QueryLimit(message),
        None => Error::DataFusion(e),
    }
}

/// What to tell a user whose query hit the memory pool; `None` for any other error.
pub fn memory_message(e: &datafusion::error::DataFusionError, limits: &QueryLimits) -> Option<String> {
    let datafusion::error::DataFusionError::ResourcesExhausted(detail) = e.find_root() else {
        return None;
    };
    let what = detail.split(" with top memory consumers").next().unwrap_or(detail);
    Some(format!(
        "the query needs more memory than its limit of {} ({}); narrow it (a `date` or `ts` filter prunes whole days) \
         or raise --memory-limit",
        show_size(limits.memory),
        what.trim_start_matches("Additional allocation failed for ").trim()
    ))
}

/// Refuses statements whose expressions nest deeper than [`MAX_EXPR_DEPTH`].
pub fn check_depth(statement: &DFStatement) -> Result<()> {
    let depth = match statement {
        // Depth counting stops just past the limit.
        DFStatement::Statement(s) => {
            let mut d = Depth { current: 0, max: 0 };
            let _ = s.visit(&mut d);
            d.max
        }
        DFStatement::Explain(e) => return check_depth(&e.statement),
        _ => 0,
    };
    if depth > MAX_EXPR_DEPTH {
        return Err(Error::QueryLimit(format!(
            "an expression nests more than {MAX_EXPR_DEPTH} levels deep; split it, or use IN (…) for long OR chains"
        )));
    }
    Ok(())
}

struct Depth {
    current: usize,
    max: usize,
}

impl Visitor for Depth {
    type Break = ();

    fn pre_visit_expr(&mut self, _: &Expr) -> ControlFlow<()> {
        self.current += 1;
        self.max = self.max.max(self.current);
        // Past the limit the exact depth does not matter: stop walking.
        if self.current > MAX_EXPR_DEPTH { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
    }

    fn post_visit_expr(&mut self, _: &Expr) -> ControlFlow<()> {
        self.current -= 1;
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_units_and_say_what_is_wrong() {
        assert_eq!(parse_size("512MB").unwrap(), 512 << 20);
        assert_eq!(parse_size("2GiB").unwrap(), 2 << 30);
        assert_eq!(parse_size("1.5g").unwrap(), 3 << 29);
        assert!(parse_size("12 parsecs").unwrap_err().contains("unknown unit"));
        assert!(parse_size("10").unwrap_err().contains("too small"));
        assert_eq!(show_size(3 << 29), "1.5 GB");
        assert!(available_memory() > 0 && default_memory() > 0);
    }

    #[test]
    fn deep_expressions_are_refused_with_their_depth() {
        let ok = datafusion::sql::parser::DFParser::parse_sql("SELECT 1 + 2 * (3 - a) FROM t").unwrap();
        check_depth(&ok[0]).unwrap();
        let chain = format!("SELECT {} FROM t", vec!["a"; 10_000].join(" + "));
        let mut deep = datafusion::sql::parser::DFParser::parse_sql(&chain).unwrap();
        let e = check_depth(&deep[0]).unwrap_err().to_string();
        assert!(e.contains("nests more than 500 levels deep"), "{e}");
        // Dropping a 10k-deep tree recurses without stack protection: it is leaked.
        std::mem::forget(deep.pop_front());
    }
}
