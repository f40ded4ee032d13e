//! Running list requests (filters, search, ordering, cursor, total) against SQLite.

use rusqlite::{Connection, OptionalExtension, Row, params_from_iter};

use crate::error::{Result, StoreError};
use crate::models::{ListParams, Page};
use crate::query::{Collection, ListPlan, SqlValue, SqliteDialect, parse_queries};

/// Parses and checks a list request. Done before any database work, so a bad query costs nothing.
pub(crate) fn plan(
    collection: Collection,
    params: &ListParams,
    scope: Vec<(&'static str, SqlValue)>,
) -> Result<ListPlan> {
    let parsed = parse_queries(collection, &params.queries)?;
    Ok(ListPlan::new(parsed, params.search.as_deref(), scope)?)
}

/// Runs a planned list: reads the cursor document's sort key, the page and (when `count`) the total,
/// all in one read transaction so they agree with each other.
pub(crate) fn run<T>(
    conn: &Connection,
    plan: &ListPlan,
    count: bool,
    columns: &str,
    map: impl Fn(&Row<'_>) -> rusqlite::Result<T>,
) -> Result<Page<T>> {
    let dialect = SqliteDialect;
    let tx = conn.unchecked_transaction()?;
    let cursor_values = match plan.cursor_sql(&dialect) {
        Some((sql, params)) => Some(cursor_key(&tx, &sql, &params, plan)?),
        None => None,
    };
    let (sql, params) = plan.page_sql(&dialect, columns, cursor_values.as_deref());
    let mut statement = tx.prepare_cached(&sql)?;
    let mut items = statement
        .query_map(params_from_iter(params.iter()), |row| map(row))?
        .collect::<rusqlite::Result<Vec<T>>>()?;
    drop(statement);
    if plan.reverses_page() {
        items.reverse();
    }
    let total = if count {
        let (sql, params) = plan.count_sql(&dialect);
        let n: i64 = tx
            .prepare_cached(&sql)?
            .query_row(params_from_iter(params.iter()), |row| row.get(0))?;
        u64::try_from(n).unwrap_or(0)
    } else {
        0
    };
    // Read-only: ending the transaction either way releases the snapshot.
    tx.commit()?;
    Ok(Page { total, items })
}

/// The cursor document's values for the plan's ordering, or `CursorNotFound`.
fn cursor_key(
    conn: &Connection,
    sql: &str,
    params: &[SqlValue],
    plan: &ListPlan,
) -> Result<Vec<SqlValue>> {
    let width = plan.orders().len();
    let key = conn
        .prepare_cached(sql)?
        .query_row(params_from_iter(params.iter()), |row| {
            (0..width)
                .map(|i| row.get::<_, SqlValue>(i))
                .collect::<rusqlite::Result<Vec<_>>>()
        })
        .optional()?;
    key.ok_or_else(|| StoreError::CursorNotFound {
        id: plan
            .query
            .cursor
            .as_ref()
            .map(|c| c.id.clone())
            .unwrap_or_default(),
    })
}
