//! Property tests of the query language: arbitrary input never panics, well-formed queries built from
//! the whitelist compile to SQL with the expected clauses and every user value bound as a parameter,
//! and a sample of generated queries runs against a real SQLite store.

use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestRunner};
use serde_json::{Value, json};
use wafer_store::query::{AttrType, Collection, ListPlan, SqlValue, SqliteDialect, parse_queries};
use wafer_store::{ListParams, Timestamp};

use crate::common::{PROJECT, executions_fixture};

/// Marks every generated user string: it never occurs in SQL text, so finding it there means a value
/// was spliced in.
const MARK: char = '~';

const COLLECTIONS: [Collection; 4] = [
    Collection::Functions,
    Collection::Deployments,
    Collection::Executions,
    Collection::Variables,
];

/// One generated query: its JSON text and the SQL fragments its filter or order must produce.
#[derive(Debug, Clone)]
struct GeneratedQuery {
    json: Value,
    fragments: Vec<String>,
}

impl GeneratedQuery {
    fn new(json: Value, fragments: Vec<String>) -> Self {
        GeneratedQuery { json, fragments }
    }
}

fn user_string() -> impl Strategy<Value = String> {
    // Quotes, semicolons, LIKE wildcards and non-ASCII: what an injection attempt would carry.
    "[a-zA-Z0-9 '\";%_\\\\()=*é中-]{0,12}".prop_map(|s| format!("{MARK}{s}"))
}

fn datetime_string() -> impl Strategy<Value = String> {
    (0i64..4_102_444_800_000).prop_map(|ms| Timestamp(ms).to_rfc3339())
}

/// A value of the attribute's type, as a client would send it.
fn value_of(ty: AttrType) -> BoxedStrategy<Value> {
    match ty {
        AttrType::String => user_string().prop_map(Value::from).boxed(),
        AttrType::Int => prop_oneof![
            any::<i64>().prop_map(Value::from),
            any::<i32>().prop_map(|n| Value::from(n.to_string())),
        ]
        .boxed(),
        AttrType::Float => (-1.0e9f64..1.0e9).prop_map(Value::from).boxed(),
        AttrType::Bool => any::<bool>().prop_map(Value::from).boxed(),
        AttrType::Datetime => datetime_string().prop_map(Value::from).boxed(),
    }
}

fn attribute_of(collection: Collection) -> impl Strategy<Value = wafer_store::query::Attribute> {
    proptest::sample::select(collection.attributes())
}

/// A filter query on `collection`'s whitelist, nested in `and`/`or` up to `depth` more levels.
fn filter_query(collection: Collection, depth: u32) -> BoxedStrategy<GeneratedQuery> {
    let leaf = attribute_of(collection)
        .prop_flat_map(|attr| {
            let col = attr.column;
            let api = attr.api;
            let one = value_of(attr.ty);
            let compare = (
                proptest::sample::select(
                    &[
                        ("lessThan", "<"),
                        ("lessThanEqual", "<="),
                        ("greaterThan", ">"),
                        ("greaterThanEqual", ">="),
                    ][..],
                ),
                one.clone(),
            )
                .prop_map(move |((method, op), v)| {
                    GeneratedQuery::new(
                        json!({"method": method, "attribute": api, "values": [v]}),
                        vec![format!("{col} {op} ?")],
                    )
                });
            let equal = (
                any::<bool>(),
                proptest::collection::vec(value_of(attr.ty), 1..4),
            )
                .prop_map(move |(negate, values)| {
                    let (method, sql) = if negate {
                        ("notEqual", "NOT IN (?")
                    } else {
                        ("equal", "IN (?")
                    };
                    GeneratedQuery::new(
                        json!({"method": method, "attribute": api, "values": values}),
                        vec![format!("{col} {sql}")],
                    )
                });
            let between = (any::<bool>(), one.clone(), one).prop_map(move |(negate, low, high)| {
                let method = if negate { "notBetween" } else { "between" };
                let mut fragments = vec![format!("{col} BETWEEN ?")];
                if negate {
                    fragments.push(format!("NOT ({col} BETWEEN"));
                }
                GeneratedQuery::new(
                    json!({"method": method, "attribute": api, "values": [low, high]}),
                    fragments,
                )
            });
            let null = any::<bool>().prop_map(move |negate| {
                let (method, sql) = if negate {
                    ("isNotNull", "IS NOT NULL")
                } else {
                    ("isNull", "IS NULL")
                };
                GeneratedQuery::new(
                    json!({"method": method, "attribute": api}),
                    vec![format!("{col} {sql}")],
                )
            });
            let mut choices = vec![
                compare.boxed(),
                equal.boxed(),
                between.boxed(),
                null.boxed(),
            ];
            if attr.ty == AttrType::String {
                choices.push(like_query(api, col));
            }
            proptest::strategy::Union::new(choices)
        })
        .boxed();
    let time_bound = (
        proptest::sample::select(
            &[
                ("createdBefore", "created_at <"),
                ("createdAfter", "created_at >"),
                ("updatedBefore", "updated_at <"),
                ("updatedAfter", "updated_at >"),
            ][..],
        ),
        datetime_string(),
    )
        .prop_map(|((method, sql), t)| {
            GeneratedQuery::new(
                json!({"method": method, "values": [t]}),
                vec![format!("{sql} ?")],
            )
        });
    let flat = prop_oneof![4 => leaf, 1 => time_bound].boxed();
    if depth == 0 {
        return flat;
    }
    let nested = (
        any::<bool>(),
        proptest::collection::vec(filter_query(collection, depth - 1), 1..3),
        any::<bool>(),
    )
        .prop_map(|(is_and, members, as_strings)| {
            let method = if is_and { "and" } else { "or" };
            let fragments = members.iter().flat_map(|m| m.fragments.clone()).collect();
            // SDKs send nested queries as objects or as JSON strings; both are accepted.
            let values: Vec<Value> = members
                .into_iter()
                .map(|m| {
                    if as_strings {
                        Value::from(m.json.to_string())
                    } else {
                        m.json
                    }
                })
                .collect();
            GeneratedQuery::new(json!({"method": method, "values": values}), fragments)
        });
    prop_oneof![3 => flat, 1 => nested].boxed()
}

fn like_query(api: &'static str, col: &'static str) -> BoxedStrategy<GeneratedQuery> {
    let methods = &[
        "startsWith",
        "endsWith",
        "contains",
        "search",
        "notStartsWith",
        "notEndsWith",
        "notContains",
        "notSearch",
    ][..];
    (
        proptest::sample::select(methods),
        user_string(),
        user_string(),
    )
        .prop_map(move |(method, a, b)| {
            let values = if method.ends_with("ontains") {
                json!([a, b])
            } else {
                json!([a])
            };
            let mut fragments = vec![format!("{col} LIKE ?")];
            if method.starts_with("not") {
                // Several `contains` values are one OR group.
                let group = if method.ends_with("ontains") { "(" } else { "" };
                fragments.push(format!("NOT ({group}{col} LIKE"));
            }
            GeneratedQuery::new(
                json!({"method": method, "attribute": api, "values": values}),
                fragments,
            )
        })
        .boxed()
}

fn order_query(collection: Collection) -> impl Strategy<Value = GeneratedQuery> {
    (attribute_of(collection), any::<bool>()).prop_map(|(attr, desc)| {
        let (method, dir) = if desc {
            ("orderDesc", "DESC")
        } else {
            ("orderAsc", "ASC")
        };
        GeneratedQuery::new(
            json!({"method": method, "attribute": attr.api}),
            vec![format!("{} {dir}", attr.column)],
        )
    })
}

/// A whole well-formed request: filters and orders, and at most one limit, offset and cursor.
#[derive(Debug, Clone)]
struct GeneratedRequest {
    collection: Collection,
    queries: Vec<GeneratedQuery>,
    limit: Option<u32>,
    offset: Option<u32>,
    cursor: Option<(bool, String)>,
    search: Option<String>,
}

impl GeneratedRequest {
    fn query_strings(&self) -> Vec<String> {
        let mut all: Vec<String> = self.queries.iter().map(|q| q.json.to_string()).collect();
        if let Some(n) = self.limit {
            all.push(json!({"method": "limit", "values": [n]}).to_string());
        }
        if let Some(n) = self.offset {
            all.push(json!({"method": "offset", "values": [n]}).to_string());
        }
        if let Some((after, id)) = &self.cursor {
            let method = if *after {
                "cursorAfter"
            } else {
                "cursorBefore"
            };
            all.push(json!({"method": method, "values": [id]}).to_string());
        }
        all
    }
}

fn request(
    collection: Collection,
    cursor_ids: BoxedStrategy<String>,
) -> impl Strategy<Value = GeneratedRequest> {
    (
        proptest::collection::vec(
            prop_oneof![3 => filter_query(collection, 2), 1 => order_query(collection).boxed()],
            0..5,
        ),
        proptest::option::of(0u32..=collection.max_limit()),
        proptest::option::of(0u32..=5000),
        proptest::option::of((any::<bool>(), cursor_ids)),
        proptest::option::of(user_string()),
    )
        .prop_map(
            move |(queries, limit, offset, cursor, search)| GeneratedRequest {
                collection,
                queries,
                limit,
                offset,
                cursor,
                search,
            },
        )
}

fn any_request() -> impl Strategy<Value = GeneratedRequest> {
    proptest::sample::select(&COLLECTIONS[..])
        .prop_flat_map(|collection| request(collection, user_string().boxed()))
}

/// Checks one statement: placeholders numbered 1..=n in order, one per parameter, and no user value
/// (marked strings, numbers) in the text.
fn assert_parameterised(sql: &str, params: &[SqlValue]) {
    assert!(!sql.contains(MARK), "a user string is spliced into {sql}");
    let mut numbers = Vec::new();
    let mut rest = sql;
    let mut text_without_placeholders = String::new();
    while let Some(at) = rest.find('?') {
        text_without_placeholders.push_str(&rest[..at]);
        let digits: String = rest[at + 1..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        numbers.push(digits.parse::<usize>().expect("a placeholder is numbered"));
        rest = &rest[at + 1 + digits.len()..];
    }
    text_without_placeholders.push_str(rest);
    let expected: Vec<usize> = (1..=params.len()).collect();
    assert_eq!(numbers, expected, "placeholders of {sql}");
    assert!(
        !text_without_placeholders.contains(|c: char| c.is_ascii_digit()),
        "a number is spliced into {sql}"
    );
}

fn escaped_like(term: &str) -> String {
    term.chars()
        .flat_map(|c| {
            let escape = matches!(c, '\\' | '%' | '_').then_some('\\');
            escape.into_iter().chain(std::iter::once(c))
        })
        .collect()
}

/// Every marked string of `json` is bound, as given or as an escaped `LIKE` pattern.
fn assert_strings_bound(json: &Value, params: &[SqlValue]) {
    match json {
        Value::String(s) if s.starts_with(MARK) => {
            let bound = params.iter().any(|p| match p {
                SqlValue::Text(t) => t == s || t.contains(&escaped_like(s)),
                _ => false,
            });
            assert!(bound, "{s:?} is not among the parameters {params:?}");
        }
        Value::String(s) => {
            // A nested query sent as a JSON string.
            if let Ok(nested) = serde_json::from_str::<Value>(s) {
                assert_strings_bound(&nested, params);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| assert_strings_bound(v, params)),
        Value::Object(map) => map.values().for_each(|v| assert_strings_bound(v, params)),
        _ => {}
    }
}

/// An order fragment as the page query writes it: `cursorBefore` walks backwards, so every direction
/// is reversed.
fn as_paged(fragment: &str, reversed: bool) -> String {
    match (
        reversed,
        fragment.strip_suffix(" ASC"),
        fragment.strip_suffix(" DESC"),
    ) {
        (true, Some(column), _) => format!("{column} DESC"),
        (true, _, Some(column)) => format!("{column} ASC"),
        _ => fragment.to_owned(),
    }
}

fn plan_of(request: &GeneratedRequest) -> ListPlan {
    let queries = request.query_strings();
    let parsed = parse_queries(request.collection, &queries)
        .unwrap_or_else(|err| panic!("{queries:?} is well-formed but was refused: {err}"));
    let scope = vec![("project_id", SqlValue::Text(format!("{MARK}project")))];
    ListPlan::new(parsed, request.search.as_deref(), scope).expect("plan")
}

/// `cases` cases; failures are reported, not saved to files in the source tree.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::with_cases(cases)
    }
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn arbitrary_query_strings_never_panic(
        collection in proptest::sample::select(&COLLECTIONS[..]),
        queries in proptest::collection::vec(any::<String>(), 0..4),
    ) {
        // Either a plan or a clear error; reaching this line means no panic.
        let _ = parse_queries(collection, &queries);
    }

    #[test]
    fn arbitrary_json_queries_never_panic(
        collection in proptest::sample::select(&COLLECTIONS[..]),
        queries in proptest::collection::vec(arbitrary_query_json(), 0..4),
    ) {
        let texts: Vec<String> = queries.iter().map(Value::to_string).collect();
        if let Ok(parsed) = parse_queries(collection, &texts) {
            let plan = ListPlan::new(parsed, None, Vec::new()).expect("plan");
            let _ = plan.page_sql(&SqliteDialect, "id", None);
        }
    }

    #[test]
    fn well_formed_queries_compile_to_their_clauses_with_every_value_bound(
        request in any_request(),
    ) {
        let plan = plan_of(&request);
        let (count_sql, count_params) = plan.count_sql(&SqliteDialect);
        assert_parameterised(&count_sql, &count_params);
        let (page_sql, page_params) = plan.page_sql(&SqliteDialect, "id", None);
        assert_parameterised(&page_sql, &page_params);
        for query in &request.queries {
            for fragment in &query.fragments {
                let fragment = as_paged(fragment, plan.reverses_page());
                prop_assert!(page_sql.contains(&fragment), "{fragment:?} not in {page_sql}");
            }
            assert_strings_bound(&query.json, &page_params);
        }
        let limit = i64::from(request.limit.unwrap_or(25));
        let offset = i64::from(request.offset.unwrap_or(0));
        prop_assert_eq!(
            &page_params[page_params.len() - 2..],
            &[SqlValue::Int(limit), SqlValue::Int(offset)][..]
        );
        if let Some(term) = &request.search {
            // The term is trimmed before it is matched.
            let pattern = SqlValue::Text(format!("%{}%", escaped_like(term.trim())));
            prop_assert!(count_params.contains(&pattern));
        }
        if let Some((_, id)) = &request.cursor {
            let (sql, params) = plan.cursor_sql(&SqliteDialect).expect("cursor statement");
            assert_parameterised(&sql, &params);
            prop_assert!(params.contains(&SqlValue::Text(id.clone())));
            let keys: Vec<SqlValue> = plan.orders().iter().map(|_| SqlValue::Int(0)).collect();
            let (sql, params) = plan.page_sql(&SqliteDialect, "id", Some(&keys));
            assert_parameterised(&sql, &params);
        }
    }
}

/// JSON shaped like queries but with arbitrary methods, attributes and values.
fn arbitrary_query_json() -> impl Strategy<Value = Value> {
    let scalar = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        any::<String>().prop_map(Value::from),
        "[a-zA-Z$]{0,20}".prop_map(Value::from),
    ];
    let value = scalar.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z]{1,9}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            // A nested query sent as a string.
            proptest::collection::vec("[a-z]{1,9}", 0..3).prop_map(|words| Value::from(
                json!({"method": "and", "values": words}).to_string()
            )),
        ]
    });
    let method = prop_oneof![
        proptest::sample::select(
            &[
                "equal",
                "notEqual",
                "lessThan",
                "between",
                "notBetween",
                "isNull",
                "startsWith",
                "contains",
                "search",
                "createdBefore",
                "and",
                "or",
                "orderAsc",
                "orderDesc",
                "limit",
                "offset",
                "cursorAfter",
                "cursorBefore",
            ][..]
        )
        .prop_map(Value::from),
        any::<String>().prop_map(Value::from),
        value.clone(),
    ];
    let attribute = prop_oneof![
        proptest::sample::select(
            &[
                "status",
                "$id",
                "$createdAt",
                "duration",
                "responseStatusCode",
                "enabled",
                "name"
            ][..]
        )
        .prop_map(Value::from),
        value.clone(),
    ];
    (
        method,
        proptest::option::of(attribute),
        proptest::option::of(value),
    )
        .prop_map(|(method, attribute, values)| {
            let mut object = serde_json::Map::new();
            object.insert("method".into(), method);
            if let Some(a) = attribute {
                object.insert("attribute".into(), a);
            }
            if let Some(v) = values {
                object.insert("values".into(), v);
            }
            Value::Object(object)
        })
}

#[test]
fn generated_execution_queries_run_against_a_real_sqlite_store() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (_dir, store) = runtime.block_on(executions_fixture());
    let fixture_ids = proptest::sample::select(&["e1", "e2", "e3", "e4", "e5", "e6"][..])
        .prop_map(str::to_owned)
        .boxed();
    let mut runner = TestRunner::new(config(48));
    runner
        .run(&request(Collection::Executions, fixture_ids), |request| {
            let params = ListParams {
                queries: request.query_strings(),
                search: request.search.clone(),
                total: true,
            };
            let page = runtime
                .block_on(store.list_executions(PROJECT, "fn1", &params))
                .map_err(|err| TestCaseError::fail(format!("{:?}: {err}", params.queries)))?;
            prop_assert!(page.items.len() <= 6);
            Ok(())
        })
        .expect("every generated query runs");
}
