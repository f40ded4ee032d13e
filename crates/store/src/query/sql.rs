//! SQL generation for list requests, over a small [`Dialect`] so another backend (PostgreSQL) can reuse
//! it. Only whitelisted column names (compile-time constants) enter the SQL text; every value is a bound
//! parameter.

use super::collections::Collection;
use super::parse::{CursorDirection, Filter, Order, OrderDirection, ParsedQuery, escape_like};
use super::{MAX_SEARCH_LEN, QueryError};

/// A bound parameter, backend-neutral.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    /// SQL `NULL`.
    Null,
    /// An integer (also timestamps, as milliseconds).
    Int(i64),
    /// A floating-point number.
    Real(f64),
    /// Text.
    Text(String),
    /// A boolean, stored as the backend stores them.
    Bool(bool),
}

/// What differs between SQL backends in the statements built here.
pub trait Dialect: Send + Sync {
    /// The placeholder for the `index`-th parameter (1-based): `?1` for SQLite, `$1` for PostgreSQL.
    fn placeholder(&self, index: usize) -> String;
    /// The case-insensitive pattern-match operator: `LIKE` in SQLite (ASCII case folding), `ILIKE` in
    /// PostgreSQL.
    fn like_operator(&self) -> &'static str;
}

/// SQLite: numbered `?N` placeholders, `LIKE` (case-insensitive for ASCII).
#[derive(Debug, Clone, Copy, Default)]
pub struct SqliteDialect;

impl Dialect for SqliteDialect {
    fn placeholder(&self, index: usize) -> String {
        format!("?{index}")
    }

    fn like_operator(&self) -> &'static str {
        "LIKE"
    }
}

/// PostgreSQL: `$N` placeholders, `ILIKE`.
#[derive(Debug, Clone, Copy, Default)]
pub struct PostgresDialect;

impl Dialect for PostgresDialect {
    fn placeholder(&self, index: usize) -> String {
        format!("${index}")
    }

    fn like_operator(&self) -> &'static str {
        "ILIKE"
    }
}

/// Accumulates SQL text and its parameters, numbering placeholders as values are bound.
pub struct SqlBuilder<'d> {
    dialect: &'d dyn Dialect,
    sql: String,
    params: Vec<SqlValue>,
}

impl<'d> SqlBuilder<'d> {
    /// An empty statement in `dialect`.
    pub fn new(dialect: &'d dyn Dialect) -> Self {
        SqlBuilder {
            dialect,
            sql: String::new(),
            params: Vec::new(),
        }
    }

    /// Appends trusted SQL text (never a value).
    pub fn push(&mut self, sql: &str) -> &mut Self {
        self.sql.push_str(sql);
        self
    }

    /// Appends a placeholder bound to `value`.
    pub fn bind(&mut self, value: SqlValue) -> &mut Self {
        self.params.push(value);
        let placeholder = self.dialect.placeholder(self.params.len());
        self.sql.push_str(&placeholder);
        self
    }

    /// Appends `items` separated by `separator`, each written by `write`.
    fn join<T>(&mut self, items: &[T], separator: &str, mut write: impl FnMut(&mut Self, &T)) {
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                self.push(separator);
            }
            write(self, item);
        }
    }

    fn like(&mut self, column: &str, pattern: String) {
        let op = self.dialect.like_operator();
        self.push(column).push(" ").push(op).push(" ");
        self.bind(SqlValue::Text(pattern)).push(" ESCAPE '\\'");
    }

    /// The SQL text and its parameters, in placeholder order.
    pub fn finish(self) -> (String, Vec<SqlValue>) {
        (self.sql, self.params)
    }
}

/// Everything needed to run one list request: the parsed queries, the search term and the scope
/// (`project_id = ?`, `function_id = ?`, …) that confines it.
#[derive(Debug, Clone)]
pub struct ListPlan {
    /// The checked queries.
    pub query: ParsedQuery,
    /// The escaped `%term%` pattern of the list-level search, if any.
    search_pattern: Option<String>,
    scope: Vec<(&'static str, SqlValue)>,
}

impl ListPlan {
    /// `scope` lists equality conditions that always apply; the store passes the project id (and the
    /// parent function id, and for user callers the user id) here so no list can leave its scope.
    pub fn new(
        query: ParsedQuery,
        search: Option<&str>,
        scope: Vec<(&'static str, SqlValue)>,
    ) -> Result<Self, QueryError> {
        let search_pattern = match search.map(str::trim).filter(|s| !s.is_empty()) {
            Some(term) if term.chars().count() > MAX_SEARCH_LEN => {
                return Err(QueryError::SearchTooLong {
                    len: term.chars().count(),
                });
            }
            Some(term) => Some(format!("%{}%", escape_like(term))),
            None => None,
        };
        Ok(ListPlan {
            query,
            search_pattern,
            scope,
        })
    }

    fn collection(&self) -> Collection {
        self.query.collection
    }

    /// The effective ordering: the explicit orders (or `$createdAt` ASC), then the id as a tiebreaker in
    /// the direction of the last order, which makes the order total so cursors are exact.
    pub fn orders(&self) -> Vec<Order> {
        let mut orders = self.query.orders.clone();
        if orders.is_empty() {
            orders.push(Order {
                column: self.collection().created_column(),
                direction: OrderDirection::Asc,
            });
        }
        let last = orders.last().map_or(OrderDirection::Asc, |o| o.direction);
        orders.push(Order {
            column: self.collection().id_column(),
            direction: last,
        });
        orders
    }

    /// Whether the page query runs in reverse (for `cursorBefore`) and its rows must be reversed.
    pub fn reverses_page(&self) -> bool {
        matches!(
            self.query.cursor,
            Some(ref c) if c.direction == CursorDirection::Before
        )
    }

    /// `SELECT <order columns> FROM t WHERE <scope> AND id = ?`: reads the cursor document's sort key.
    /// `None` when the request has no cursor.
    pub fn cursor_sql(&self, dialect: &dyn Dialect) -> Option<(String, Vec<SqlValue>)> {
        let cursor = self.query.cursor.as_ref()?;
        let columns: Vec<&str> = self.orders().iter().map(|o| o.column).collect();
        let mut b = SqlBuilder::new(dialect);
        b.push("SELECT ").push(&columns.join(", ")).push(" FROM ");
        b.push(self.collection().table()).push(" WHERE ");
        self.write_scope(&mut b);
        b.push(" AND ")
            .push(self.collection().id_column())
            .push(" = ");
        b.bind(SqlValue::Text(cursor.id.clone()));
        Some(b.finish())
    }

    /// `SELECT COUNT(*)` over the scope, filters and search (no cursor, limit or offset).
    pub fn count_sql(&self, dialect: &dyn Dialect) -> (String, Vec<SqlValue>) {
        let mut b = SqlBuilder::new(dialect);
        b.push("SELECT COUNT(*) FROM ")
            .push(self.collection().table());
        b.push(" WHERE ");
        self.write_conditions(&mut b);
        b.finish()
    }

    /// The page query. `cursor_values` are the cursor document's values for [`orders`](Self::orders),
    /// as read with [`cursor_sql`](Self::cursor_sql); required when the request has a cursor.
    pub fn page_sql(
        &self,
        dialect: &dyn Dialect,
        columns: &str,
        cursor_values: Option<&[SqlValue]>,
    ) -> (String, Vec<SqlValue>) {
        // cursorBefore walks backwards from the cursor: reverse every direction, keep "after", and let
        // the caller flip the rows back.
        let reverse = self.reverses_page();
        let orders: Vec<Order> = self
            .orders()
            .into_iter()
            .map(|o| Order {
                column: o.column,
                direction: if reverse {
                    o.direction.reversed()
                } else {
                    o.direction
                },
            })
            .collect();
        let mut b = SqlBuilder::new(dialect);
        b.push("SELECT ").push(columns).push(" FROM ");
        b.push(self.collection().table()).push(" WHERE ");
        self.write_conditions(&mut b);
        if let Some(values) = cursor_values {
            b.push(" AND ");
            write_keyset(&mut b, &orders, values);
        }
        b.push(" ORDER BY ");
        b.join(&orders, ", ", |b, o| {
            b.push(o.column).push(match o.direction {
                OrderDirection::Asc => " ASC",
                OrderDirection::Desc => " DESC",
            });
        });
        b.push(" LIMIT ")
            .bind(SqlValue::Int(i64::from(self.query.limit)));
        b.push(" OFFSET ")
            .bind(SqlValue::Int(i64::from(self.query.offset)));
        b.finish()
    }

    fn write_scope(&self, b: &mut SqlBuilder<'_>) {
        if self.scope.is_empty() {
            b.push("1 = 1");
        }
        b.join(&self.scope, " AND ", |b, (column, value)| {
            b.push(column).push(" = ").bind(value.clone());
        });
    }

    fn write_conditions(&self, b: &mut SqlBuilder<'_>) {
        self.write_scope(b);
        for filter in &self.query.filters {
            b.push(" AND ");
            write_filter(b, filter);
        }
        if let Some(pattern) = &self.search_pattern {
            b.push(" AND (");
            b.join(self.collection().search_columns(), " OR ", |b, column| {
                b.like(column, pattern.clone());
            });
            b.push(")");
        }
    }
}

fn write_filter(b: &mut SqlBuilder<'_>, filter: &Filter) {
    match filter {
        Filter::In {
            column,
            values,
            negate,
        } => {
            b.push(column)
                .push(if *negate { " NOT IN (" } else { " IN (" });
            b.join(values, ", ", |b, v| {
                b.bind(v.clone());
            });
            b.push(")");
        }
        Filter::Compare { column, op, value } => {
            b.push(column).push(" ").push(op.sql()).push(" ");
            b.bind(value.clone());
        }
        Filter::Between { column, low, high } => {
            b.push(column).push(" BETWEEN ").bind(low.clone());
            b.push(" AND ").bind(high.clone());
        }
        Filter::IsNull { column, negate } => {
            b.push(column)
                .push(if *negate { " IS NOT NULL" } else { " IS NULL" });
        }
        Filter::Like { column, pattern } => b.like(column, pattern.clone()),
        Filter::Not(inner) => {
            b.push("NOT (");
            write_filter(b, inner);
            b.push(")");
        }
        Filter::And(members) | Filter::Or(members) => {
            let separator = if matches!(filter, Filter::And(_)) {
                " AND "
            } else {
                " OR "
            };
            b.push("(");
            b.join(members, separator, write_filter);
            b.push(")");
        }
    }
}

/// Rows strictly after the cursor in `orders`: `(c1 > v1) OR (c1 = v1 AND c2 > v2) OR …`, with `<` for
/// descending columns.
fn write_keyset(b: &mut SqlBuilder<'_>, orders: &[Order], values: &[SqlValue]) {
    b.push("(");
    for (i, order) in orders.iter().enumerate() {
        if i > 0 {
            b.push(" OR ");
        }
        b.push("(");
        for (prev, value) in orders[..i].iter().zip(values) {
            b.push(prev.column)
                .push(" = ")
                .bind(value.clone())
                .push(" AND ");
        }
        let op = match order.direction {
            OrderDirection::Asc => " > ",
            OrderDirection::Desc => " < ",
        };
        let value = values.get(i).cloned().unwrap_or(SqlValue::Null);
        b.push(order.column).push(op).bind(value);
        b.push(")");
    }
    b.push(")");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::parse_queries;

    fn plan(queries: &[&str]) -> ListPlan {
        let parsed = parse_queries(Collection::Executions, queries).expect("queries parse");
        let scope = vec![("project_id", SqlValue::Text("p".into()))];
        ListPlan::new(parsed, None, scope).expect("plan")
    }

    #[test]
    fn filters_become_placeholders_never_literals() {
        let p = plan(&[
            r#"{"method":"equal","attribute":"status","values":["completed","failed"]}"#,
            r#"{"method":"startsWith","attribute":"requestPath","values":["/a%b"]}"#,
        ]);
        let (sql, params) = p.count_sql(&SqliteDialect);
        assert_eq!(
            sql,
            "SELECT COUNT(*) FROM executions WHERE project_id = ?1 AND status IN (?2, ?3) \
             AND request_path LIKE ?4 ESCAPE '\\'"
        );
        assert_eq!(params[3], SqlValue::Text("/a\\%b%".into()));
    }

    #[test]
    fn postgres_dialect_numbers_dollar_placeholders() {
        let p = plan(&[r#"{"method":"search","attribute":"requestPath","values":["x"]}"#]);
        let (sql, _) = p.count_sql(&PostgresDialect);
        assert!(sql.ends_with("project_id = $1 AND request_path ILIKE $2 ESCAPE '\\'"));
    }

    #[test]
    fn cursor_before_reverses_the_order_and_keyset() {
        let p = plan(&[r#"{"method":"cursorBefore","values":["abc"]}"#]);
        let values = [SqlValue::Int(5), SqlValue::Text("abc".into())];
        let (sql, _) = p.page_sql(&SqliteDialect, "id", Some(&values));
        assert!(sql.contains("((created_at < ?2) OR (created_at = ?3 AND id < ?4))"));
        assert!(sql.contains("ORDER BY created_at DESC, id DESC"));
        assert!(p.reverses_page());
    }
}
