//! Past one machine: the warehouse's queries on Apache Ballista (docs/distributed.md).
//!
//! Ballista 55 runs DataFusion 55 plans: the client plans a query as it would locally
//! (the same listing tables, views and SQL), ships the logical plan to the scheduler, the
//! scheduler splits it into stages of tasks over the Parquet files, and executors read
//! the files from the warehouse's object store and exchange intermediate results. Only
//! the final, small result comes back. So every analysis runs unchanged: it asks its
//! session for rows, and the session is a cluster's or a local one.
//!
//! The scheduler plans the physical stages (it lists the files) and the executors read
//! them, so both open the warehouse from the same config as the client: the same URL and
//! `[storage]` credentials, which never travel with a query.
//!
//! Built only with `--features cluster`; without it, `--cluster`, `retrace scheduler` and
//! `retrace executor` say how to get it.

use datafusion::prelude::SessionContext;

use crate::error::{Error, Result};
use crate::limits::QueryLimits;
use crate::warehouse::Warehouse;

/// The default scheduler port (Ballista's).
pub const DEFAULT_PORT: u16 = 50050;

/// `df://host:port`, `host:port` or `host` → (host, port).
pub fn parse_address(url: &str) -> Result<(String, u16)> {
    let bad = |why: &str| Error::Usage(format!("cluster address `{url}`: {why} (write df://host:port)"));
    let rest = match url.split_once("://") {
        Some(("df" | "http", rest)) => rest,
        Some((scheme, _)) => return Err(bad(&format!("`{scheme}://` is not a Ballista scheduler scheme"))),
        None => url,
    };
    let rest = rest.trim_end_matches('/');
    if rest.is_empty() || rest.contains('/') {
        return Err(bad("no host"));
    }
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') || h.starts_with('[') => {
            (h.to_string(), p.parse::<u16>().map_err(|_| bad(&format!("`{p}` is not a port")))?)
        }
        _ => (rest.to_string(), DEFAULT_PORT),
    };
    if host.is_empty() {
        return Err(bad("no host"));
    }
    Ok((host, port))
}

/// A session whose queries run on the cluster at `url`, with the warehouse's tables and
/// views registered as [`crate::catalog::open_with`] registers them locally.
///
/// Ballista's client polls a job until it ends, with no deadline: a job queued with no
/// executor, or one that lost its executor at the wrong moment (docs/distributed.md,
/// Limits), would hold the command forever. So the process ends, with an error naming
/// the cluster, once `deadline` has passed (`None`: the interactive shell, whose queries
/// each have a timeout of their own).
pub async fn connect(
    warehouse: &Warehouse,
    limits: &QueryLimits,
    url: &str,
    deadline: Option<std::time::Duration>,
) -> Result<SessionContext> {
    let (host, port) = parse_address(url)?;
    let ctx = imp::connect(warehouse, limits, url, &host, port).await?;
    let Some(deadline) = deadline else { return Ok(ctx) };
    let (url, started) = (url.to_string(), std::time::Instant::now());
    tokio::spawn(async move {
        tokio::time::sleep(deadline).await;
        eprintln!(
            "error: no answer from the cluster at {url} within {:.0?} ([cluster] timeout): a Ballista job is \
             waiting for executors, or lost one and was not rescheduled (docs/distributed.md, Limits)",
            started.elapsed()
        );
        std::process::exit(2);
    });
    Ok(ctx)
}

/// Ballista reports an unreachable scheduler only when a query runs, as a transport
/// error's debug text: a connection tried first names the address in plain words.
#[cfg_attr(not(feature = "cluster"), allow(dead_code))]
async fn reachable(url: &str, host: &str, port: u16) -> Result<()> {
    let unreachable =
        |message: String| Error::ClusterUnreachable { address: format!("{host}:{port} ({url})"), message };
    let connect = tokio::net::TcpStream::connect((host, port));
    match tokio::time::timeout(std::time::Duration::from_secs(10), connect).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(unreachable(e.to_string())),
        Err(_) => Err(unreachable("no answer within 10 s".into())),
    }
}

pub use imp::{run_executor, run_scheduler};

#[cfg(not(feature = "cluster"))]
mod imp {
    use super::*;
    use crate::cli::{ExecutorArgs, SchedulerArgs};

    fn not_built() -> Error {
        Error::Usage(
            "this retrace was built without the `cluster` feature; build it with \
             `cargo build --release --features cluster` (docs/distributed.md)"
                .into(),
        )
    }

    pub async fn connect(_: &Warehouse, _: &QueryLimits, _: &str, _: &str, _: u16) -> Result<SessionContext> {
        Err(not_built())
    }

    pub async fn run_scheduler(_: &Warehouse, _: &SchedulerArgs) -> Result<()> {
        Err(not_built())
    }

    pub async fn run_executor(_: &Warehouse, _: &ExecutorArgs) -> Result<()> {
        Err(not_built())
    }
}

#[cfg(feature = "cluster")]
mod imp {
    use std::sync::Arc;

    use ballista::prelude::{SessionConfigExt, SessionContextExt};
    use ballista_core::RuntimeProducer;
    use ballista_core::config::TaskSchedulingPolicy;
    use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
    use ballista_scheduler::cluster::BallistaCluster;
    use ballista_scheduler::config::SchedulerConfig;
    use datafusion::execution::SessionStateBuilder;
    use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
    use datafusion::prelude::SessionConfig;
    use tracing::info;

    use super::*;
    use crate::cli::{ExecutorArgs, SchedulerArgs};

    /// A runtime that reads the warehouse's store (its URL and credentials from the config).
    fn runtime(warehouse: &Warehouse, temp: Option<&str>) -> datafusion::error::Result<Arc<RuntimeEnv>> {
        let mut builder = RuntimeEnvBuilder::new();
        if let Some(dir) = temp {
            builder = builder.with_temp_file_path(dir);
        }
        let env = builder.build()?;
        env.register_object_store(&warehouse.location.base_url, warehouse.location.store.clone());
        Ok(Arc::new(env))
    }

    fn cluster_error(what: &str, e: impl std::fmt::Display) -> Error {
        Error::Cluster(format!("{what}: {e}"))
    }

    pub async fn connect(
        warehouse: &Warehouse,
        limits: &QueryLimits,
        url: &str,
        host: &str,
        port: u16,
    ) -> Result<SessionContext> {
        reachable(url, host, port).await?;
        let config = crate::catalog::session_config(SessionConfig::new_with_ballista());
        let state = SessionStateBuilder::new()
            .with_config(config)
            .with_runtime_env(crate::limits::runtime(limits)?)
            .with_default_features()
            .build();
        let ctx = SessionContext::remote_with_state(&format!("df://{host}:{port}"), state)
            .await
            .map_err(|e| cluster_error("connecting to the scheduler", e))?;
        crate::catalog::register(&ctx, warehouse).await?;
        Ok(ctx)
    }

    /// `retrace scheduler`: serves until the process is stopped.
    pub async fn run_scheduler(warehouse: &Warehouse, args: &SchedulerArgs) -> Result<()> {
        let address: std::net::SocketAddr = tokio::net::lookup_host(&args.listen)
            .await
            .ok()
            .and_then(|mut a| a.next())
            .ok_or_else(|| Error::Usage(format!("--listen `{}` is not host:port", args.listen)))?;
        let wh = warehouse.clone();
        let builder: ballista_scheduler::scheduler_server::SessionBuilder = Arc::new(move |config: SessionConfig| {
            let state = ballista_core::utils::default_session_builder(config)?;
            Ok(SessionStateBuilder::new_from_existing(state).with_runtime_env(runtime(&wh, None)?).build())
        });
        let config = SchedulerConfig {
            bind_host: address.ip().to_string(),
            bind_port: address.port(),
            external_host: address.ip().to_string(),
            scheduling_policy: TaskSchedulingPolicy::PushStaged,
            executor_timeout_seconds: args.executor_timeout,
            expire_dead_executor_interval_seconds: (args.executor_timeout / 5).clamp(1, 15),
            task_max_failures: args.task_attempts.max(1),
            stage_max_failures: args.task_attempts.max(1),
            override_session_builder: Some(builder),
            ..Default::default()
        };
        let cluster = BallistaCluster::new_from_config(&config).await.map_err(|e| cluster_error("scheduler", e))?;
        info!(%address, warehouse = %warehouse.display, "Ballista scheduler listening.");
        eprintln!("scheduler listening on {address} (warehouse {})", warehouse.display);
        ballista_scheduler::scheduler_process::start_server(cluster, address, Arc::new(config))
            .await
            .map_err(|e| cluster_error(&format!("scheduler on {address}"), e))
    }

    /// `retrace executor`: registers with the scheduler and runs tasks until stopped.
    pub async fn run_executor(warehouse: &Warehouse, args: &ExecutorArgs) -> Result<()> {
        let (scheduler_host, scheduler_port) = parse_address(&args.scheduler)?;
        let (bind_host, port) = match args.listen.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), p.parse::<u16>().ok()),
            None => (String::new(), None),
        };
        let Some(port) = port.filter(|p| *p < u16::MAX) else {
            return Err(Error::Usage(format!("--listen `{}` is not host:port (below 65535)", args.listen)));
        };
        let work_dir = match &args.work_dir {
            Some(d) => {
                std::fs::create_dir_all(d).map_err(|e| Error::io(d.display(), e))?;
                d.display().to_string()
            }
            None => std::env::temp_dir().join(format!("retrace-executor-{port}")).display().to_string(),
        };
        std::fs::create_dir_all(&work_dir).map_err(|e| Error::io(&work_dir, e))?;
        let (wh, temp) = (warehouse.clone(), work_dir.clone());
        let producer: RuntimeProducer = Arc::new(move |_: &SessionConfig| runtime(&wh, Some(&temp)));
        let config = ExecutorProcessConfig {
            bind_host: bind_host.clone(),
            external_host: Some(args.external_host.clone().unwrap_or(bind_host)),
            port,
            grpc_port: port + 1,
            scheduler_host,
            scheduler_port,
            scheduler_connect_timeout_seconds: 30,
            vcores: args.tasks.unwrap_or(0),
            task_scheduling_policy: TaskSchedulingPolicy::PushStaged,
            work_dir: Some(work_dir),
            executor_heartbeat_interval_seconds: args.heartbeat.max(1),
            override_runtime_producer: Some(producer),
            ..Default::default()
        };
        eprintln!("executor listening on {}:{port} for scheduler {}", config.bind_host, args.scheduler);
        start_executor_process(Arc::new(config)).await.map_err(|e| cluster_error("executor", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheduler_addresses() {
        assert_eq!(parse_address("df://10.0.0.5:50050").unwrap(), ("10.0.0.5".into(), 50050));
        assert_eq!(parse_address("df://sched").unwrap(), ("sched".into(), 50050));
        assert_eq!(parse_address("sched:6000").unwrap(), ("sched".into(), 6000));
        for (bad, says) in
            [("s3://b", "not a Ballista scheduler scheme"), ("df://", "no host"), ("df://h:x", "`x` is not a port")]
        {
            let e = parse_address(bad).unwrap_err().to_string();
            assert!(e.contains(says) && e.contains(bad), "{bad}: {e}");
        }
    }

    #[cfg(not(feature = "cluster"))]
    #[tokio::test]
    async fn without_the_feature_the_build_says_how_to_get_it() {
        let wh = Warehouse::open(&std::env::temp_dir().display().to_string()).unwrap();
        let e = connect(&wh, &QueryLimits::default(), "df://127.0.0.1:1", None).await.err().unwrap().to_string();
        assert!(e.contains("--features cluster"), "{e}");
    }

    #[cfg(feature = "cluster")]
    #[tokio::test]
    async fn a_scheduler_that_is_not_there_is_named() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let url = format!("df://127.0.0.1:{port}");
        let wh = Warehouse::open(&std::env::temp_dir().display().to_string()).unwrap();
        let e = connect(&wh, &QueryLimits::default(), &url, None).await.err().unwrap().to_string();
        assert!(e.contains(&format!("127.0.0.1:{port}")) && e.contains("cannot reach"), "{e}");
    }
}
