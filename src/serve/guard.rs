//! The first hook every statement meets: what `retrace sql` refuses, the server refuses
//! (DDL, DML, `COPY`, engine `SET`s; expressions nested too deep never get this far, see
//! `handlers::refuse_deep`), with the same words;
//! what it allows is planned here once, map columns turned into JSON text (clients have
//! no type for an Arrow map), and a simple-protocol query run in the query's own session.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::common::ParamValues;
use datafusion::logical_expr::{LogicalPlan, LogicalPlanBuilder, ScalarUDF};
use datafusion::prelude::SessionContext;
use datafusion::sql::parser::Statement as DFStatement;
use datafusion::sql::sqlparser::ast::{Set, Statement};
use datafusion_postgres::arrow_pg::datatypes::df::encode_dataframe;
use datafusion_postgres::hooks::{HookClient, QueryHook};
use datafusion_postgres::pgwire::api::ClientInfo;
use datafusion_postgres::pgwire::api::portal::Format;
use datafusion_postgres::pgwire::api::results::Response;
use datafusion_postgres::pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use datafusion_postgres::pgwire::types::format::FormatOptions;

use super::canned;
use super::map_json::MapJson;
use crate::catalog;

/// Refuses what is not a read and plans what is.
#[derive(Debug)]
pub(super) struct Guard {
    map_json: Arc<ScalarUDF>,
}

impl Guard {
    pub(super) fn new() -> Guard {
        Guard { map_json: Arc::new(ScalarUDF::new_from_impl(MapJson::new())) }
    }

    /// Plans `statement` as `retrace sql` would and refuses anything but a read.
    async fn plan(&self, statement: &Statement, ctx: &SessionContext) -> PgWireResult<LogicalPlan> {
        if let Statement::Execute { name: Some(name), parameters, immediate: false, .. } = statement {
            return self.canned(&name.to_string(), parameters, ctx).await;
        }
        if let Statement::Copy { .. } = statement {
            // PostgreSQL's COPY syntax, which DataFusion would not plan anyway.
            return Err(user_error("25006", "COPY is refused; the retrace server is read-only".into()));
        }
        let statement = DFStatement::Statement(Box::new(statement.clone()));
        let plan =
            ctx.state().statement_to_plan(statement).await.map_err(|e| user_error("42601", e.strip_backtrace()))?;
        // 25006: read_only_sql_transaction, what PostgreSQL says to a write on a standby.
        catalog::verify_read_only(&plan)
            .map_err(|message| user_error("25006", format!("{message}; the retrace server is read-only")))?;
        self.json_maps(plan)
    }

    /// `EXECUTE name(args)`: a canned query of `queries/`, its named parameters bound from
    /// the arguments in the order of its `Parameters:` block.
    async fn canned(
        &self,
        name: &str,
        arguments: &[datafusion::sql::sqlparser::ast::Expr],
        ctx: &SessionContext,
    ) -> PgWireResult<LogicalPlan> {
        use datafusion::sql::sqlparser::ast::{Expr, Value};
        let (sql, names) = canned::find(name).ok_or_else(|| {
            user_error("26000", format!("no canned query named {name}; SELECT * FROM retrace_queries lists them"))
        })?;
        let values = arguments
            .iter()
            .map(|e| match e {
                Expr::Value(v) => match &v.value {
                    Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => s.clone(),
                    Value::Number(n, _) => n.to_string(),
                    Value::Boolean(b) => b.to_string(),
                    other => other.to_string(),
                },
                other => other.to_string(),
            })
            .collect();
        let params = canned::bind(&names, values).map_err(|e| user_error("42P02", format!("EXECUTE {name}: {e}")))?;
        let plan = ctx.state().create_logical_plan(sql).await.map_err(|e| user_error("42601", e.strip_backtrace()))?;
        let plan = crate::catalog::bind_params(plan, &params)
            .map_err(|e| user_error("22023", format!("EXECUTE {name}: {e}")))?;
        self.json_maps(plan)
    }

    /// Map columns (`attributes`) as JSON text: arrow-pg has no PostgreSQL type for them.
    fn json_maps(&self, plan: LogicalPlan) -> PgWireResult<LogicalPlan> {
        use datafusion::arrow::datatypes::DataType;
        let schema = plan.schema().clone();
        if !schema.fields().iter().any(|f| matches!(f.data_type(), DataType::Map(..))) {
            return Ok(plan);
        }
        let exprs = schema
            .iter()
            .map(|(qualifier, field)| {
                // Qualified: a join may repeat a name.
                let column = datafusion::prelude::Expr::Column(datafusion::common::Column::new(
                    qualifier.cloned(),
                    field.name(),
                ));
                if matches!(field.data_type(), DataType::Map(..)) {
                    self.map_json.call(vec![column]).alias(field.name())
                } else {
                    column
                }
            })
            .collect::<Vec<_>>();
        LogicalPlanBuilder::from(plan)
            .project(exprs)
            .and_then(|b| b.build())
            .map_err(|e| api_error(e.strip_backtrace()))
    }
}

/// Statements the built-in hooks answer without touching data (session settings,
/// `SHOW`, transactions, cursors over a query that is itself checked).
fn passes_through(statement: &Statement) -> bool {
    match statement {
        // An engine option would change the shared session for every client.
        Statement::Set(Set::SingleAssignment { variable, .. }) => {
            !variable.to_string().to_ascii_lowercase().starts_with("datafusion.")
        }
        Statement::Set(_)
        | Statement::ShowVariable { .. }
        | Statement::ShowVariables { .. }
        | Statement::StartTransaction { .. }
        | Statement::Commit { .. }
        | Statement::Rollback { .. }
        | Statement::Fetch { .. }
        | Statement::Close { .. } => true,
        _ => false,
    }
}

#[async_trait]
impl QueryHook for Guard {
    async fn handle_simple_query(
        &self,
        statement: &Statement,
        ctx: &SessionContext,
        client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        if passes_through(statement) {
            return None;
        }
        if let Statement::Set(_) = statement {
            return Some(Err(refused_set()));
        }
        if let Statement::Declare { stmts } = statement {
            for d in stmts {
                if let Some(query) = &d.for_query
                    && let Err(e) = self.plan(&Statement::Query(query.clone()), ctx).await
                {
                    return Some(Err(e));
                }
            }
            return None;
        }
        let plan = match self.plan(statement, ctx).await {
            Ok(plan) => plan,
            Err(e) => return Some(Err(e)),
        };
        let run = async {
            let df = ctx.execute_logical_plan(plan).await.map_err(|e| api_error(e.strip_backtrace()))?;
            let options = Arc::new(FormatOptions::from_client_metadata(client.metadata()));
            // The simple protocol is text, always.
            encode_dataframe(df, &Format::UnifiedText, Some(options)).await.map(Response::Query)
        };
        Some(run.await)
    }

    async fn handle_extended_parse_query(
        &self,
        statement: &Statement,
        ctx: &SessionContext,
        _client: &(dyn ClientInfo + Send + Sync),
    ) -> Option<PgWireResult<LogicalPlan>> {
        if passes_through(statement) {
            return None;
        }
        if let Statement::Set(_) = statement {
            return Some(Err(refused_set()));
        }
        if let Statement::Declare { .. } = statement {
            return Some(Err(user_error("0A000", "DECLARE is supported in the simple protocol only".into())));
        }
        Some(self.plan(statement, ctx).await)
    }

    async fn handle_extended_query(
        &self,
        _statement: &Statement,
        _plan: &LogicalPlan,
        _params: &ParamValues,
        _ctx: &SessionContext,
        _client: &mut dyn HookClient,
    ) -> Option<PgWireResult<Response>> {
        // Planned (and checked) at parse; the handler runs it in the query's own session.
        None
    }
}

fn refused_set() -> PgWireError {
    user_error(
        "25006",
        "SET of an engine option is refused: the server's session is shared by every client; \
         statement_timeout, time zone and client settings are allowed"
            .into(),
    )
}

pub(super) fn user_error(code: &str, message: String) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new("ERROR".into(), code.into(), message)))
}

fn api_error(message: String) -> PgWireError {
    user_error("XX000", message)
}
