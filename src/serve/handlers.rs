//! The protocol handlers: datafusion-postgres's, each query given a session of its own
//! (its memory pool, the warehouse listed afresh) and its rows a deadline.

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use datafusion::error::DataFusionError;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::prelude::SessionContext;
use datafusion_postgres::datafusion_pg_catalog::pg_catalog::context::EmptyContextProvider;
use datafusion_postgres::datafusion_pg_catalog::setup_pg_catalog;
use datafusion_postgres::hooks::QueryHook;
use datafusion_postgres::hooks::cursor::CursorStatementHook;
use datafusion_postgres::hooks::set_show::SetShowHook;
use datafusion_postgres::hooks::transactions::TransactionStatementHook;
use datafusion_postgres::pgwire::api::Type;
use datafusion_postgres::pgwire::api::cancel::DefaultCancelHandler;
use datafusion_postgres::pgwire::api::portal::Format;
use datafusion_postgres::pgwire::api::portal::Portal;
use datafusion_postgres::pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use datafusion_postgres::pgwire::api::results::{FieldInfo, Response};
use datafusion_postgres::pgwire::api::stmt::QueryParser;
use datafusion_postgres::pgwire::api::store::PortalStore;
use datafusion_postgres::pgwire::api::{
    ClientInfo, ClientPortalStore, ConnectionManager, ErrorHandler, PgWireServerHandlers,
};
use datafusion_postgres::pgwire::error::{PgWireError, PgWireResult};
use datafusion_postgres::pgwire::messages::PgWireBackendMessage;
use datafusion_postgres::{DfSessionService, Parser};
use futures::{Sink, StreamExt};
use tokio::time::Instant;

use super::ServeOptions;
use super::auth::{Secret, Startup};
use super::guard::{Guard, user_error};
use crate::catalog;
use crate::error::{Error, Result};
use crate::limits::QueryLimits;
use crate::warehouse::Warehouse;

type Statement = (String, Option<(datafusion::sql::sqlparser::ast::Statement, datafusion::logical_expr::LogicalPlan)>);

/// Everything a connection needs; shared by all of them.
pub struct Handlers {
    queries: Arc<Queries>,
    secret: Option<Arc<Secret>>,
    cert_pem: Option<Vec<u8>>,
    connections: Arc<ConnectionManager>,
}

impl Handlers {
    /// Opens the warehouse session every query is cut from.
    pub async fn open(warehouse: &Warehouse, options: &ServeOptions) -> Result<Handlers> {
        let base = catalog::open_with(warehouse, &options.limits).await?;
        setup_pg_catalog(&base, "datafusion", EmptyContextProvider)
            .map_err(|e| Error::Internal(format!("cannot set up pg_catalog: {e}")))?;
        super::canned::register(&base)?;
        crate::analyze::slo_tables::register(&base, &options.slos)?;
        let hooks: Vec<Arc<dyn QueryHook>> = vec![
            Arc::new(Guard::new()),
            Arc::new(CursorStatementHook),
            Arc::new(SetShowHook),
            Arc::new(TransactionStatementHook),
        ];
        let base = Arc::new(base);
        let parser =
            Arc::new(DepthChecked(DfSessionService::new_with_hooks(base.clone(), hooks.clone()).query_parser()));
        let cert_pem = match &options.tls {
            Some((cert, _)) => Some(std::fs::read(cert).map_err(|e| Error::io(cert.display(), e))?),
            None => None,
        };
        Ok(Handlers {
            queries: Arc::new(Queries { base, parser, hooks, limits: options.limits }),
            secret: options.password.as_deref().map(|p| Arc::new(Secret::new(p))),
            cert_pem,
            connections: Arc::new(ConnectionManager::new()),
        })
    }
}

impl PgWireServerHandlers for Handlers {
    fn simple_query_handler(&self) -> Arc<impl SimpleQueryHandler> {
        self.queries.clone()
    }

    fn extended_query_handler(&self) -> Arc<impl ExtendedQueryHandler> {
        self.queries.clone()
    }

    fn startup_handler(&self) -> Arc<impl datafusion_postgres::pgwire::api::auth::StartupHandler> {
        // One per connection: SASL keeps the exchange's state.
        Arc::new(Startup::new(self.secret.as_ref(), self.cert_pem.as_deref(), &self.connections))
    }

    fn error_handler(&self) -> Arc<impl ErrorHandler> {
        Arc::new(LogErrors)
    }

    fn cancel_handler(&self) -> Arc<impl datafusion_postgres::pgwire::api::cancel::CancelHandler> {
        Arc::new(DefaultCancelHandler::new(self.connections.clone()))
    }
}

struct LogErrors;

impl ErrorHandler for LogErrors {
    fn on_error<C: ClientInfo>(&self, client: &C, error: &mut PgWireError) {
        tracing::debug!(peer = %client.socket_addr(), %error, "query failed");
    }
}

/// Runs queries: each in a session of its own.
pub struct Queries {
    base: Arc<SessionContext>,
    parser: Arc<DepthChecked>,
    hooks: Vec<Arc<dyn QueryHook>>,
    limits: QueryLimits,
}

impl Queries {
    /// A session for one query: the base's tables, views and functions, its own memory
    /// pool of the per-query limit (so one query's hunger fails that query alone), the
    /// base's caches (parquet footers) but the folder listings dropped, so what an ingest
    /// committed since the last query is seen.
    fn session(&self) -> PgWireResult<DfSessionService> {
        catalog::forget_listings(&self.base);
        let runtime = RuntimeEnvBuilder::from_runtime_env(self.base.runtime_env().as_ref())
            .with_memory_pool(crate::limits::memory_pool(self.limits.memory))
            .build_arc()
            .map_err(|e| user_error("XX000", e.strip_backtrace()))?;
        let state = SessionStateBuilder::new_from_existing(self.base.state()).with_runtime_env(runtime).build();
        Ok(DfSessionService::new_with_hooks(Arc::new(SessionContext::new_with_state(state)), self.hooks.clone()))
    }

    fn deadline(&self) -> Option<Instant> {
        self.limits.timeout.map(|t| Instant::now() + t)
    }

    /// The rows of `response` under `deadline`, with limit errors told as such.
    fn limited(&self, response: Response, deadline: Option<Instant>) -> Response {
        let Response::Query(mut query) = response else {
            return response;
        };
        let data_rows = std::mem::replace(&mut query.data_rows, Box::pin(futures::stream::empty()));
        let limits = self.limits;
        let rows = futures::stream::unfold(Some(data_rows), move |rows| async move {
            let mut rows = rows?;
            // Checked before each row: a stream that is always ready never lets a timer fire.
            let next = match deadline {
                Some(d) if Instant::now() >= d => return Some((Err(timed_out(&limits)), None)),
                Some(d) => match tokio::time::timeout_at(d, rows.next()).await {
                    Ok(next) => next,
                    Err(_) => return Some((Err(timed_out(&limits)), None)),
                },
                None => rows.next().await,
            };
            match next? {
                Ok(row) => Some((Ok(row), Some(rows))),
                // Dropping the rows cancels the plan's tasks.
                Err(e) => Some((Err(explain(e, &limits)), None)),
            }
        });
        query.data_rows = Box::pin(rows);
        Response::Query(query)
    }

    async fn within<T>(
        &self,
        deadline: Option<Instant>,
        work: impl Future<Output = PgWireResult<T>>,
    ) -> PgWireResult<T> {
        let result = match deadline {
            Some(d) => tokio::time::timeout_at(d, work).await.map_err(|_| timed_out(&self.limits))?,
            None => work.await,
        };
        result.map_err(|e| explain(e, &self.limits))
    }
}

fn timed_out(limits: &QueryLimits) -> PgWireError {
    let limit = limits.timeout.unwrap_or(Duration::ZERO);
    user_error(
        "57014",
        format!(
            "canceling statement: it ran longer than the server's query timeout of {} (retrace serve --timeout)",
            crate::display::duration(chrono::Duration::from_std(limit).unwrap_or_default())
        ),
    )
}

/// A query that hit its memory pool, told as `retrace sql` tells it (SQLSTATE 53200,
/// out_of_memory); other errors as they are.
fn explain(e: PgWireError, limits: &QueryLimits) -> PgWireError {
    if let PgWireError::ApiError(inner) = &e
        && let Some(df) = inner.downcast_ref::<DataFusionError>()
        && let Some(message) = crate::limits::memory_message(df, limits)
    {
        return user_error("53200", message.replace("--memory-limit", "retrace serve --memory-limit"));
    }
    e
}

#[async_trait]
impl SimpleQueryHandler for Queries {
    async fn do_query<C>(&self, client: &mut C, query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        refuse_deep(query)?;
        let deadline = self.deadline();
        let session = self.session()?;
        let responses = self.within(deadline, SimpleQueryHandler::do_query(&session, client, query)).await?;
        Ok(responses.into_iter().map(|r| self.limited(r, deadline)).collect())
    }
}

#[async_trait]
impl ExtendedQueryHandler for Queries {
    type Statement = Statement;
    type QueryParser = DepthChecked;

    fn query_parser(&self) -> Arc<Self::QueryParser> {
        self.parser.clone()
    }

    async fn do_query<C>(
        &self,
        client: &mut C,
        portal: &Portal<Self::Statement>,
        max_rows: usize,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Self::Statement>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let deadline = self.deadline();
        let session = self.session()?;
        let response =
            self.within(deadline, ExtendedQueryHandler::do_query(&session, client, portal, max_rows)).await?;
        Ok(self.limited(response, deadline))
    }
}

/// Refuses SQL whose expressions nest deeper than `retrace sql` allows, before the
/// PostgreSQL-compatibility rewrites walk it: a walk of a 100,000-term expression would
/// overflow a thread's stack and end the server for every client.
fn refuse_deep(sql: &str) -> PgWireResult<()> {
    let Ok(mut statements) = datafusion::sql::parser::DFParser::parse_sql(sql) else {
        // The real parser says what is wrong with it.
        return Ok(());
    };
    for statement in &statements {
        if let Err(e) = crate::limits::check_depth(statement) {
            // Dropping a tree that deep recurses too: leak it (bounded by the query size).
            std::mem::forget(std::mem::take(&mut statements));
            return Err(user_error("54001", e.to_string()));
        }
    }
    Ok(())
}

/// datafusion-postgres's parser behind [`refuse_deep`].
pub struct DepthChecked(Arc<Parser>);

#[async_trait]
impl QueryParser for DepthChecked {
    type Statement = Statement;

    async fn parse_sql<C>(&self, client: &C, sql: &str, types: &[Option<Type>]) -> PgWireResult<Option<Self::Statement>>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        refuse_deep(sql)?;
        self.0.parse_sql(client, sql, types).await
    }

    fn get_parameter_types(&self, stmt: &Self::Statement) -> PgWireResult<Vec<Type>> {
        self.0.get_parameter_types(stmt)
    }

    fn get_result_schema(
        &self,
        stmt: &Self::Statement,
        column_format: Option<&Format>,
    ) -> PgWireResult<Vec<FieldInfo>> {
        self.0.get_result_schema(stmt, column_format)
    }
}
