//! Parsing and checking of JSON query strings into a [`ParsedQuery`].

use serde_json::{Map, Value};

use super::collections::{AttrType, Attribute, Collection};
use super::sql::SqlValue;
use super::{
    DEFAULT_LIMIT, MAX_NESTING, MAX_OFFSET, MAX_QUERIES, MAX_QUERY_LEN, MAX_VALUES, QueryError,
};
use crate::time::Timestamp;

/// Every accepted method, for error messages.
pub(crate) const METHODS: &[&str] = &[
    "equal",
    "notEqual",
    "lessThan",
    "lessThanEqual",
    "greaterThan",
    "greaterThanEqual",
    "between",
    "notBetween",
    "isNull",
    "isNotNull",
    "startsWith",
    "notStartsWith",
    "endsWith",
    "notEndsWith",
    "contains",
    "notContains",
    "search",
    "notSearch",
    "createdBefore",
    "createdAfter",
    "updatedBefore",
    "updatedAfter",
    "and",
    "or",
    "orderAsc",
    "orderDesc",
    "limit",
    "offset",
    "cursorAfter",
    "cursorBefore",
];

/// `<`, `<=`, `>`, `>=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl CmpOp {
    pub(crate) fn sql(self) -> &'static str {
        match self {
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

/// A checked filter over whitelisted columns with typed values.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// `column IN (values)`, or `NOT IN` when `negate` (`equal` / `notEqual`).
    In {
        /// The whitelisted column.
        column: &'static str,
        /// The values to match.
        values: Vec<SqlValue>,
        /// `NOT IN` instead of `IN`.
        negate: bool,
    },
    /// `column op value` (`lessThan`, `greaterThanEqual`, `createdBefore`, …).
    Compare {
        /// The whitelisted column.
        column: &'static str,
        /// The comparison.
        op: CmpOp,
        /// The value compared with.
        value: SqlValue,
    },
    /// `column BETWEEN low AND high`, both ends included (`between`).
    Between {
        /// The whitelisted column.
        column: &'static str,
        /// The lower end.
        low: SqlValue,
        /// The upper end.
        high: SqlValue,
    },
    /// `column IS NULL`, or `IS NOT NULL` when `negate` (`isNull` / `isNotNull`).
    IsNull {
        /// The whitelisted column.
        column: &'static str,
        /// `IS NOT NULL` instead of `IS NULL`.
        negate: bool,
    },
    /// Case-insensitive `LIKE` with a pattern whose wildcards are already escaped with `\`.
    Like {
        /// The whitelisted column.
        column: &'static str,
        /// The pattern, user text escaped.
        pattern: String,
    },
    /// The negation of a filter (`notStartsWith`, `notBetween`, …).
    Not(Box<Filter>),
    /// All of the filters hold (`and`).
    And(Vec<Filter>),
    /// At least one of the filters holds (`or`).
    Or(Vec<Filter>),
}

/// Which way an ordering runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderDirection {
    /// Smallest first (`orderAsc`).
    Asc,
    /// Largest first (`orderDesc`).
    Desc,
}

impl OrderDirection {
    pub(crate) fn reversed(self) -> Self {
        match self {
            OrderDirection::Asc => OrderDirection::Desc,
            OrderDirection::Desc => OrderDirection::Asc,
        }
    }
}

/// One ordering of a list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Order {
    /// The whitelisted column.
    pub column: &'static str,
    /// Which way.
    pub direction: OrderDirection,
}

/// Which side of its document a cursor pages to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CursorDirection {
    /// The rows after the document (`cursorAfter`).
    After,
    /// The rows before the document (`cursorBefore`).
    Before,
}

/// Pagination relative to a document id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// The id of the document the page starts from (which itself is not in the page).
    pub id: String,
    /// Which side of it.
    pub direction: CursorDirection,
}

/// The checked content of a request's queries.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedQuery {
    /// The collection the queries were checked against.
    pub collection: Collection,
    /// All top-level filters; they are combined with AND.
    pub filters: Vec<Filter>,
    /// Explicit orderings in the order given; the list adds `$createdAt` ASC when empty and always
    /// ends with the id as tiebreaker.
    pub orders: Vec<Order>,
    /// Rows per page ([`DEFAULT_LIMIT`](super::DEFAULT_LIMIT) unless given).
    pub limit: u32,
    /// Rows skipped before the page.
    pub offset: u32,
    /// Where the page starts, if a cursor was given.
    pub cursor: Option<Cursor>,
}

/// Parses and checks the queries of one list request against `collection`'s whitelist.
pub fn parse_queries<S: AsRef<str>>(
    collection: Collection,
    queries: &[S],
) -> Result<ParsedQuery, QueryError> {
    if queries.len() > MAX_QUERIES {
        return Err(QueryError::TooMany { got: queries.len() });
    }
    let mut parsed = ParsedQuery {
        collection,
        filters: Vec::new(),
        orders: Vec::new(),
        limit: DEFAULT_LIMIT,
        offset: 0,
        cursor: None,
    };
    let mut seen_limit = false;
    let mut seen_offset = false;
    for (index, query) in queries.iter().enumerate() {
        let query = query.as_ref();
        let len = query.chars().count();
        if len > MAX_QUERY_LEN {
            return Err(QueryError::TooLong { index, len });
        }
        let raw = RawQuery::from_json(&decode_json(query)?, query)?;
        match raw.method.as_str() {
            "orderAsc" | "orderDesc" => parsed.orders.push(raw.order(collection)?),
            "limit" => {
                once(&mut seen_limit, &raw.method)?;
                parsed.limit = raw.bounded_int(collection.max_limit())?;
            }
            "offset" => {
                once(&mut seen_offset, &raw.method)?;
                parsed.offset = raw.bounded_int(MAX_OFFSET)?;
            }
            "cursorAfter" | "cursorBefore" => {
                if parsed.cursor.is_some() {
                    return Err(QueryError::Duplicate {
                        method: "cursor".into(),
                    });
                }
                parsed.cursor = Some(raw.cursor()?);
            }
            _ => parsed.filters.push(raw.filter(collection, 0)?),
        }
    }
    Ok(parsed)
}

fn once(seen: &mut bool, method: &str) -> Result<(), QueryError> {
    if std::mem::replace(seen, true) {
        return Err(QueryError::Duplicate {
            method: method.to_owned(),
        });
    }
    Ok(())
}

fn decode_json(query: &str) -> Result<Value, QueryError> {
    serde_json::from_str(query).map_err(|err| QueryError::InvalidJson {
        query: shorten(query),
        reason: err.to_string(),
    })
}

/// Keeps error messages readable when a query is long.
fn shorten(text: &str) -> String {
    const KEEP: usize = 120;
    if text.chars().count() <= KEEP {
        return text.to_owned();
    }
    let head: String = text.chars().take(KEEP).collect();
    format!("{head}…")
}

/// The three fields of a query object, before checking.
struct RawQuery {
    method: String,
    attribute: String,
    values: Vec<Value>,
}

impl RawQuery {
    fn from_json(value: &Value, text: &str) -> Result<Self, QueryError> {
        let not_object = || QueryError::NotAnObject {
            query: shorten(text),
        };
        let object: &Map<String, Value> = value.as_object().ok_or_else(not_object)?;
        let method = object
            .get("method")
            .and_then(Value::as_str)
            .ok_or_else(not_object)?
            .to_owned();
        let attribute = match object.get("attribute") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(_) => return Err(not_object()),
        };
        let values = match object.get("values") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(values)) => values.clone(),
            // Tolerate a single bare value.
            Some(other) => vec![other.clone()],
        };
        if values.len() > MAX_VALUES {
            return Err(QueryError::WrongValueCount {
                method,
                expected: "at most 100",
                got: values.len(),
            });
        }
        Ok(RawQuery {
            method,
            attribute,
            values,
        })
    }

    fn expect_count(&self, expected: &'static str, ok: bool) -> Result<(), QueryError> {
        if ok {
            return Ok(());
        }
        Err(QueryError::WrongValueCount {
            method: self.method.clone(),
            expected,
            got: self.values.len(),
        })
    }

    fn attribute(&self, collection: Collection) -> Result<Attribute, QueryError> {
        if self.attribute.is_empty() {
            return Err(QueryError::MissingAttribute {
                method: self.method.clone(),
            });
        }
        collection
            .attribute(&self.attribute)
            .ok_or_else(|| QueryError::UnknownAttribute {
                attribute: self.attribute.clone(),
                collection: collection.name(),
                allowed: collection.allowed_list(),
            })
    }

    fn order(&self, collection: Collection) -> Result<Order, QueryError> {
        let direction = if self.method == "orderAsc" {
            OrderDirection::Asc
        } else {
            OrderDirection::Desc
        };
        // Appwrite reads an empty attribute as its internal insertion sequence; creation time (with
        // the id tiebreaker) is our equivalent.
        let column = if self.attribute.is_empty() {
            collection.created_column()
        } else {
            self.attribute(collection)?.column
        };
        Ok(Order { column, direction })
    }

    fn bounded_int(&self, max: u32) -> Result<u32, QueryError> {
        self.expect_count("exactly 1", self.values.len() == 1)?;
        let value = &self.values[0];
        value
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .filter(|n| *n <= max)
            .ok_or_else(|| QueryError::OutOfRange {
                method: self.method.clone(),
                max,
                got: value.to_string(),
            })
    }

    fn cursor(&self) -> Result<Cursor, QueryError> {
        self.expect_count("exactly 1", self.values.len() == 1)?;
        let id = match &self.values[0] {
            Value::String(id) if !id.is_empty() => id.clone(),
            other => {
                return Err(QueryError::WrongValueType {
                    method: self.method.clone(),
                    attribute: "$id".into(),
                    expected: "non-empty string (document id)",
                    got: other.to_string(),
                });
            }
        };
        let direction = if self.method == "cursorAfter" {
            CursorDirection::After
        } else {
            CursorDirection::Before
        };
        Ok(Cursor { id, direction })
    }

    fn filter(&self, collection: Collection, depth: usize) -> Result<Filter, QueryError> {
        match self.method.as_str() {
            "equal" | "notEqual" => self.in_filter(collection),
            "lessThan" => self.compare(collection, CmpOp::Lt),
            "lessThanEqual" => self.compare(collection, CmpOp::Le),
            "greaterThan" => self.compare(collection, CmpOp::Gt),
            "greaterThanEqual" => self.compare(collection, CmpOp::Ge),
            "between" => self.between(collection),
            "notBetween" => negate(self.between(collection)),
            "isNull" | "isNotNull" => self.is_null(collection),
            "startsWith" => self.like(collection, LikeKind::Prefix),
            "endsWith" => self.like(collection, LikeKind::Suffix),
            "contains" => self.like(collection, LikeKind::AnyOf),
            "search" => self.like(collection, LikeKind::Substring),
            "notStartsWith" => negate(self.like(collection, LikeKind::Prefix)),
            "notEndsWith" => negate(self.like(collection, LikeKind::Suffix)),
            "notContains" => negate(self.like(collection, LikeKind::AnyOf)),
            "notSearch" => negate(self.like(collection, LikeKind::Substring)),
            "createdBefore" => self.time_bound(collection, "$createdAt", CmpOp::Lt),
            "createdAfter" => self.time_bound(collection, "$createdAt", CmpOp::Gt),
            "updatedBefore" => self.time_bound(collection, "$updatedAt", CmpOp::Lt),
            "updatedAfter" => self.time_bound(collection, "$updatedAt", CmpOp::Gt),
            "and" | "or" => self.logical(collection, depth),
            "orderAsc" | "orderDesc" | "limit" | "offset" | "cursorAfter" | "cursorBefore" => {
                Err(QueryError::NotAllowedNested {
                    method: self.method.clone(),
                })
            }
            _ => Err(QueryError::UnknownMethod {
                method: self.method.clone(),
            }),
        }
    }

    fn in_filter(&self, collection: Collection) -> Result<Filter, QueryError> {
        let attr = self.attribute(collection)?;
        self.expect_count("at least 1", !self.values.is_empty())?;
        let values = self
            .values
            .iter()
            .map(|v| self.typed(attr, v))
            .collect::<Result<_, _>>()?;
        Ok(Filter::In {
            column: attr.column,
            values,
            negate: self.method == "notEqual",
        })
    }

    fn compare(&self, collection: Collection, op: CmpOp) -> Result<Filter, QueryError> {
        let attr = self.attribute(collection)?;
        self.expect_count("exactly 1", self.values.len() == 1)?;
        Ok(Filter::Compare {
            column: attr.column,
            op,
            value: self.typed(attr, &self.values[0])?,
        })
    }

    fn between(&self, collection: Collection) -> Result<Filter, QueryError> {
        let attr = self.attribute(collection)?;
        self.expect_count("exactly 2", self.values.len() == 2)?;
        Ok(Filter::Between {
            column: attr.column,
            low: self.typed(attr, &self.values[0])?,
            high: self.typed(attr, &self.values[1])?,
        })
    }

    fn is_null(&self, collection: Collection) -> Result<Filter, QueryError> {
        let attr = self.attribute(collection)?;
        self.expect_count("no", self.values.is_empty())?;
        Ok(Filter::IsNull {
            column: attr.column,
            negate: self.method == "isNotNull",
        })
    }

    fn like(&self, collection: Collection, kind: LikeKind) -> Result<Filter, QueryError> {
        let attr = self.attribute(collection)?;
        if attr.ty != AttrType::String {
            return Err(QueryError::MethodNotForType {
                method: self.method.clone(),
                attribute: self.attribute.clone(),
                ty: attr.ty.as_str(),
            });
        }
        if kind == LikeKind::AnyOf {
            self.expect_count("at least 1", !self.values.is_empty())?;
        } else {
            self.expect_count("exactly 1", self.values.len() == 1)?;
        }
        let mut likes = Vec::with_capacity(self.values.len());
        for value in &self.values {
            let term = escape_like(&self.string_value(attr, value)?);
            let pattern = match kind {
                LikeKind::Prefix => format!("{term}%"),
                LikeKind::Suffix => format!("%{term}"),
                LikeKind::AnyOf | LikeKind::Substring => format!("%{term}%"),
            };
            likes.push(Filter::Like {
                column: attr.column,
                pattern,
            });
        }
        // `contains` with several values matches any of them, like Appwrite.
        Ok(if likes.len() == 1 {
            likes.remove(0)
        } else {
            Filter::Or(likes)
        })
    }

    /// `createdBefore(t)` and friends: shorthands for comparisons on `$createdAt`/`$updatedAt`.
    fn time_bound(
        &self,
        collection: Collection,
        api: &str,
        op: CmpOp,
    ) -> Result<Filter, QueryError> {
        let attr = collection
            .attribute(api)
            .ok_or_else(|| QueryError::UnknownAttribute {
                attribute: api.to_owned(),
                collection: collection.name(),
                allowed: collection.allowed_list(),
            })?;
        self.expect_count("exactly 1", self.values.len() == 1)?;
        Ok(Filter::Compare {
            column: attr.column,
            op,
            value: self.typed(attr, &self.values[0])?,
        })
    }

    fn logical(&self, collection: Collection, depth: usize) -> Result<Filter, QueryError> {
        if depth + 1 > MAX_NESTING {
            return Err(QueryError::NestingTooDeep);
        }
        self.expect_count("at least 1", !self.values.is_empty())?;
        let mut members = Vec::with_capacity(self.values.len());
        for value in &self.values {
            // SDKs nest query objects; some send them as JSON strings instead.
            let (decoded, text) = match value {
                Value::String(text) => (decode_json(text)?, text.clone()),
                other => (other.clone(), other.to_string()),
            };
            let nested = RawQuery::from_json(&decoded, &text)?;
            members.push(nested.filter(collection, depth + 1)?);
        }
        Ok(if self.method == "and" {
            Filter::And(members)
        } else {
            Filter::Or(members)
        })
    }

    fn type_error(&self, attr: Attribute, value: &Value) -> QueryError {
        QueryError::WrongValueType {
            method: self.method.clone(),
            attribute: attr.api.to_owned(),
            expected: attr.ty.as_str(),
            got: shorten(&value.to_string()),
        }
    }

    fn string_value(&self, attr: Attribute, value: &Value) -> Result<String, QueryError> {
        value
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| self.type_error(attr, value))
    }

    /// Checks `value` against the attribute's type. Numbers and booleans sent as strings
    /// (`"200"`, `"true"`) are accepted, since some clients stringify every value.
    fn typed(&self, attr: Attribute, value: &Value) -> Result<SqlValue, QueryError> {
        let converted = match attr.ty {
            AttrType::String => value.as_str().map(|s| SqlValue::Text(s.to_owned())),
            AttrType::Int => match value {
                Value::Number(n) => n.as_i64().or_else(|| whole_float(n.as_f64())),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            }
            .map(SqlValue::Int),
            AttrType::Float => match value {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
                _ => None,
            }
            .map(SqlValue::Real),
            AttrType::Bool => match value {
                Value::Bool(b) => Some(*b),
                Value::String(s) if s == "true" => Some(true),
                Value::String(s) if s == "false" => Some(false),
                _ => None,
            }
            .map(SqlValue::Bool),
            AttrType::Datetime => value
                .as_str()
                .and_then(Timestamp::parse_rfc3339)
                .map(|t| SqlValue::Int(t.as_millis())),
        };
        converted.ok_or_else(|| self.type_error(attr, value))
    }
}

/// The string matches `LIKE` expresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LikeKind {
    Prefix,
    Suffix,
    /// `contains`: any of several substrings.
    AnyOf,
    /// `search`: one substring (no full-text index; see the module docs).
    Substring,
}

fn negate(filter: Result<Filter, QueryError>) -> Result<Filter, QueryError> {
    filter.map(|f| Filter::Not(Box::new(f)))
}

/// `200.0` counts as the integer 200; `200.5` does not.
fn whole_float(f: Option<f64>) -> Option<i64> {
    let f = f?;
    let in_range = f.fract() == 0.0 && f.abs() < 9.0e15;
    // The range check makes the cast exact.
    in_range.then_some(f as i64)
}

/// Escapes `LIKE` wildcards so a term matches literally (with `ESCAPE '\'`).
pub(crate) fn escape_like(term: &str) -> String {
    let mut out = String::with_capacity(term.len());
    for c in term.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
