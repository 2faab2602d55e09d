//! docs/openapi.yaml is tested against the real router, so the document and the server
//! cannot drift apart unnoticed:
//! - the routes in the document are exactly the routes the router serves (a list kept here
//!   and probes of every method on every path agree);
//! - a scripted session reaches every documented status and error code of every operation
//!   (all but the store faults), and each answer is documented for its operation, carries
//!   the documented headers and validates against the documented schema (the trigger report
//!   over real data: a sweep's outcomes and the purchases after it);
//! - store faults (500, 503), which no request reaches, answer what the document says too;
//! - the request schemas (bodies, the path id, the report's query dates) accept exactly what
//!   the server accepts, over a table of probe values per field (less a short, checked list of
//!   rules a schema cannot express);
//! - every request example in the document is accepted by the server;
//! - the error codes in the document are exactly those the server can produce, each listed
//!   under the status the server gives it.
//!
//! The document is OpenAPI 3.1, whose schemas are JSON Schema 2020-12: they are validated with
//! `jsonschema` after inlining `#/components/...` references. Response objects are validated
//! as closed (no properties beyond those documented), so a field the server adds without
//! documenting it fails here. Nullable enums and objects refer to a named schema
//! (`anyOf: [$ref, {type: "null"}]`), so a client generator makes one model per enum or object.

use std::collections::{BTreeMap, BTreeSet};

use axum::body::Body;
use axum::http::{Method, StatusCode};
use boomerang_api::body::{from_slice, parse_json};
use boomerang_api::dto::{CustomerBody, PurchaseBody};
use boomerang_api::error::ApiError;
use boomerang_core::app::sweep::SweepOptions;
use boomerang_core::domain::config::ProgramConfig;
use boomerang_core::domain::customer::{ConsentChange, ConsentSource, ConsentWithdrawn};
use boomerang_core::domain::ids::CustomerId;
use boomerang_core::domain::kinds::Channel;
use boomerang_core::domain::kinds::TriggerKind;
use boomerang_core::domain::ledger::PointsOverflow;
use boomerang_core::domain::referral::RefusedReferral;
use boomerang_core::domain::survey::token::TokenProblem;
use boomerang_core::domain::survey::AnswerRefused;
use boomerang_core::Error;
use boomerang_core::ports::StoreError;
use boomerang_store_contract::sweep_cases::{date, noon, RecordingMessenger};
use boomerang_tests::{TestApp, TestResponse};
use serde_json::{json, Map, Value};

const DOCUMENT: &str = include_str!("../docs/openapi.yaml");

/// The routes `boomerang_api::router` serves: path template and methods (HEAD comes with GET).
const ROUTES: &[(&str, &[&str])] = &[
    ("/v1/customers/{customer_id}", &["DELETE", "GET", "PUT"]),
    ("/v1/customers/{customer_id}/balance", &["GET"]),
    ("/v1/customers/{customer_id}/consent", &["GET"]),
    ("/v1/purchases", &["POST"]),
    ("/v1/referrals/{code}", &["GET"]),
    ("/v1/refunds", &["POST"]),
    ("/v1/reports/triggers", &["GET"]),
    ("/v1/reports/view", &["GET"]),
    ("/v1/reports/word-of-mouth", &["GET"]),
    ("/v1/survey", &["GET", "POST"]),
    ("/v1/unsubscribe", &["GET", "POST"]),
];

/// Routes that take no key.
const OPEN_ROUTES: &[&str] = &["/v1/unsubscribe", "/v1/reports/view", "/v1/survey"];

const METHODS: [&str; 8] = ["GET", "HEAD", "PUT", "POST", "DELETE", "PATCH", "OPTIONS", "TRACE"];

/// Answers only a store fault produces: no request reaches them without fault injection, so
/// the scripted session is not required to (their status is still checked against the code).
const FAULT_ONLY: &[(u16, &str)] = &[(500, "internal"), (503, "contention"), (503, "store_unavailable")];

/// Paths next to the real ones that must stay unrouted.
const NOT_ROUTES: &[&str] = &[
    "/",
    "/v1",
    "/v1/customers",
    "/v1/customers/",
    "/v1/customers/c1/",
    "/v1/customers/c1/balance/",
    "/v1/customers/c1/consent/",
    "/v1/customers/c1/consents",
    "/v1/customers/c1/points",
    "/v1/purchases/",
    "/v1/purchases/r1",
    "/v1/refunds/f1",
    "/v1/reports",
    "/v1/reports/",
    "/v1/reports/triggers/",
    "/v1/reports/trigger",
    "/v1/reports/view/",
    "/v1/reports/word-of-mouth/",
    "/v1/unsubscribe/",
    "/v1/survey/",
    "/v1/surveys",
    "/v2/purchases",
];

// ---------------------------------------------------------------------------------------------
// The document
// ---------------------------------------------------------------------------------------------

struct Spec {
    doc: Value,
}

impl Spec {
    fn load() -> Self {
        let doc: Value = serde_yaml::from_str(DOCUMENT).expect("docs/openapi.yaml is valid YAML");
        Self { doc }
    }

    /// The value a local reference (`#/components/...`) points at.
    fn pointer(&self, reference: &str) -> &Value {
        let pointer =
            reference.strip_prefix('#').unwrap_or_else(|| panic!("only local references are used, found {reference}"));
        self.doc.pointer(pointer).unwrap_or_else(|| panic!("{reference} does not resolve"))
    }

    /// Follows `$ref` until a value without one (for responses, parameters, headers, examples).
    fn deref<'a>(&'a self, mut value: &'a Value) -> &'a Value {
        for _ in 0..16 {
            match value.get("$ref").and_then(Value::as_str) {
                Some(reference) => value = self.pointer(reference),
                None => return value,
            }
        }
        panic!("a $ref chain does not end: {value}");
    }

    /// Every (path, METHOD) the document describes.
    fn operations(&self) -> BTreeSet<(String, String)> {
        let mut out = BTreeSet::new();
        for (path, item) in self.doc["paths"].as_object().expect("paths") {
            for key in item.as_object().expect("path item").keys() {
                let method = key.to_uppercase();
                if METHODS.contains(&method.as_str()) {
                    out.insert((path.clone(), method));
                }
            }
        }
        out
    }

    fn operation(&self, path: &str, method: &str) -> &Value {
        let op = &self.doc["paths"][path][method.to_lowercase()];
        assert!(op.is_object(), "{method} {path} is not in the document");
        op
    }

    fn response(&self, path: &str, method: &str, status: u16) -> Option<&Value> {
        self.operation(path, method)["responses"].get(status.to_string()).map(|r| self.deref(r))
    }

    /// An OpenAPI 3.1 schema object as a self-contained JSON Schema: references inlined;
    /// `closed` forbids undocumented properties.
    fn json_schema(&self, schema: &Value, closed: bool) -> Value {
        self.convert(schema, closed, 0)
    }

    fn convert(&self, schema: &Value, closed: bool, depth: usize) -> Value {
        assert!(depth < 32, "schemas nest too deep (a recursive $ref?)");
        let Value::Object(map) = schema else { return schema.clone() };
        if let Some(reference) = map.get("$ref").and_then(Value::as_str) {
            return self.convert(self.pointer(reference), closed, depth + 1);
        }
        let mut out = Map::new();
        for (key, value) in map {
            let converted = match key.as_str() {
                "example" => continue,
                "properties" => Value::Object(
                    value
                        .as_object()
                        .expect("properties is an object")
                        .iter()
                        .map(|(name, s)| (name.clone(), self.convert(s, closed, depth + 1)))
                        .collect(),
                ),
                "items" | "not" => self.convert(value, closed, depth + 1),
                "additionalProperties" if value.is_object() => self.convert(value, closed, depth + 1),
                "allOf" | "anyOf" | "oneOf" => Value::Array(
                    value
                        .as_array()
                        .expect("a list of schemas")
                        .iter()
                        .map(|s| self.convert(s, closed, depth + 1))
                        .collect(),
                ),
                _ => value.clone(),
            };
            out.insert(key.clone(), converted);
        }
        if closed && out.contains_key("properties") && !out.contains_key("additionalProperties") {
            out.insert("additionalProperties".into(), Value::Bool(false));
        }
        Value::Object(out)
    }

    /// A validator for a schema of the document (formats such as date and date-time checked).
    fn compile(&self, schema: &Value, closed: bool) -> Result<jsonschema::Validator, String> {
        let converted = self.json_schema(schema, closed);
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(true)
            .build(&converted)
            .map_err(|e| format!("the schema does not compile: {e}\n{converted:#}"))
    }

    /// Validates `instance` against a schema of the document; the errors, if any.
    fn validate(&self, schema: &Value, instance: &Value, closed: bool) -> Result<(), String> {
        let validator = self.compile(schema, closed)?;
        let errors: Vec<String> =
            validator.iter_errors(instance).map(|e| format!("{} (at {})", e, e.instance_path())).collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }

    /// The error codes an error response lists as examples (one example per code, named by it).
    fn documented_codes(&self, response: &Value) -> Vec<String> {
        let examples = response["content"]["application/json"]["examples"].as_object();
        examples
            .into_iter()
            .flatten()
            .map(|(name, e)| {
                let code = self.deref(e)["value"]["error"]["code"].as_str().expect("an error example has a code");
                assert_eq!(name, code, "an error example is named by its code");
                code.to_owned()
            })
            .collect()
    }

    /// Every (operation, status, code) the document promises; code is "" for a success.
    fn documented_outcomes(&self) -> BTreeSet<(String, u16, String)> {
        let mut out = BTreeSet::new();
        for (path, method) in self.operations() {
            let op = format!("{method} {path}");
            for status in self.operation(&path, &method)["responses"].as_object().expect("responses").keys() {
                let status: u16 = status.parse().unwrap_or_else(|_| panic!("{op}: status {status} is not a number"));
                let response = self.response(&path, &method, status).unwrap();
                if status < 400 {
                    out.insert((op.clone(), status, String::new()));
                    continue;
                }
                let codes = self.documented_codes(response);
                assert!(!codes.is_empty(), "{op} {status}: an error response lists its codes as examples");
                for code in codes {
                    out.insert((op.clone(), status, code));
                }
            }
        }
        out
    }

    /// Checks an actual answer against a documented response; returns the error code ("" if none).
    fn check_answer(&self, response: &Value, r: &TestResponse, what: &str) -> String {
        // Documented headers are present and fit their schema; the replay header is never undocumented.
        let headers = response.get("headers").and_then(Value::as_object).cloned().unwrap_or_default();
        for (name, header) in &headers {
            let header = self.deref(header);
            match r.headers.get(name.as_str()) {
                None => assert!(header["required"] != true, "{what}: the documented header {name} is missing"),
                Some(value) => {
                    let text = value.to_str().expect("a header in ASCII");
                    let schema = &header["schema"];
                    let value = if schema["type"] == "integer" {
                        json!(text
                            .parse::<i64>()
                            .unwrap_or_else(|_| panic!("{what}: {name}: {text} is not an integer")))
                    } else {
                        json!(text)
                    };
                    self.validate(schema, &value, false).unwrap_or_else(|e| panic!("{what}: header {name}: {e}"));
                }
            }
        }
        for name in ["idempotent-replayed", "www-authenticate", "retry-after", "allow"] {
            if r.headers.contains_key(name) {
                assert!(
                    headers.keys().any(|h| h.eq_ignore_ascii_case(name)),
                    "{what}: the answer has a {name} header the document does not list"
                );
            }
        }
        let Some(content) = response.get("content").and_then(Value::as_object) else {
            assert!(r.text.is_empty(), "{what}: the document lists no body, the server sent {}", r.text);
            return String::new();
        };
        let content_type = r
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or("").trim().to_owned())
            .unwrap_or_default();
        let media = content
            .get(&content_type)
            .unwrap_or_else(|| panic!("{what}: content type {content_type:?} is not documented: {}", r.text));
        if content_type == "application/json" {
            self.validate(&media["schema"], &r.body, true)
                .unwrap_or_else(|e| panic!("{what}: the body does not fit the documented schema: {e}\n{}", r.text));
        } else {
            self.validate(&media["schema"], &json!(r.text), true)
                .unwrap_or_else(|e| panic!("{what}: the body does not fit the documented schema: {e}"));
            assert!(!r.text.is_empty(), "{what}: an empty {content_type} body");
        }
        if r.status.as_u16() < 400 {
            return String::new();
        }
        let code = r.error_code().to_owned();
        let codes = self.documented_codes(response);
        assert!(codes.contains(&code), "{what}: code {code} is not among the documented {codes:?}");
        code
    }
}

fn spec() -> Spec {
    Spec::load()
}

fn concrete(template: &str) -> String {
    template.replace("{customer_id}", "c1").replace("{code}", "7K3M9Q")
}

fn method(name: &str) -> Method {
    Method::from_bytes(name.as_bytes()).unwrap()
}


fn listed_routes() -> BTreeSet<(String, String)> {
    ROUTES.iter().flat_map(|(path, methods)| methods.iter().map(move |m| (path.to_string(), m.to_string()))).collect()
}

// ---------------------------------------------------------------------------------------------
// The document itself
// ---------------------------------------------------------------------------------------------

fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                out.push(r.clone());
            }
            map.values().for_each(|v| collect_refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

#[test]
fn the_document_is_openapi_3_whose_references_resolve_and_whose_schemas_compile() {
    let spec = spec();
    let version = spec.doc["openapi"].as_str().expect("an openapi version");
    assert!(version.starts_with("3.1."), "the test reads OpenAPI 3.1 (JSON Schema 2020-12), found {version}");
    let mut refs = Vec::new();
    collect_refs(&spec.doc, &mut refs);
    assert!(!refs.is_empty());
    for r in &refs {
        spec.pointer(r);
    }
    for (name, schema) in spec.doc["components"]["schemas"].as_object().expect("schemas") {
        for closed in [false, true] {
            spec.compile(schema, closed).unwrap_or_else(|e| panic!("schema {name}: {e}"));
        }
    }
    let mut ids = BTreeSet::new();
    for (path, method) in spec.operations() {
        let op = spec.operation(&path, &method);
        let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path} has no operationId"));
        assert!(ids.insert(id.to_owned()), "operationId {id} is used twice");
        assert!(op["responses"].as_object().is_some_and(|r| !r.is_empty()), "{method} {path} lists no responses");
        for param in path.split('/').filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}'))) {
            let item = &spec.doc["paths"][&path];
            let declared = item["parameters"]
                .as_array()
                .into_iter()
                .chain(op["parameters"].as_array())
                .flatten()
                .map(|p| spec.deref(p))
                .any(|p| p["name"] == param && p["in"] == "path" && p["required"] == true);
            assert!(declared, "{method} {path}: the path parameter {param} is not declared");
        }
    }
}

/// Where a schema breaks the rules that let a client generator make one model per enum and
/// object: (JSON pointer, what is wrong).
fn generator_unfriendly(value: &Value, pointer: &str, out: &mut Vec<(String, &'static str)>) {
    match value {
        Value::Object(map) => {
            if map.contains_key("nullable") {
                out.push((pointer.to_owned(), "`nullable` is OpenAPI 3.0; write type: [T, \"null\"]"));
            }
            let named = pointer.strip_prefix("/components/schemas/").is_some_and(|name| !name.contains('/'));
            if map.get("enum").and_then(Value::as_array).is_some_and(|members| members.len() > 1) && !named {
                out.push((pointer.to_owned(), "an enum of several values inline: make it a named schema"));
            }
            let nullable_type = map.get("type").and_then(Value::as_array).is_some_and(|t| t.contains(&json!("null")));
            if nullable_type && (map.contains_key("enum") || map.contains_key("properties")) {
                out.push((pointer.to_owned(), "a nullable enum or object: anyOf [{$ref: named schema}, {type: null}]"));
            }
            for (key, v) in map {
                if !matches!(key.as_str(), "example" | "examples") {
                    generator_unfriendly(v, &format!("{pointer}/{key}"), out);
                }
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                generator_unfriendly(v, &format!("{pointer}/{i}"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn nullable_fields_enums_and_objects_are_declared_so_a_generator_makes_one_model_each() {
    let spec = spec();
    let mut found = Vec::new();
    generator_unfriendly(&spec.doc, "", &mut found);
    assert!(found.is_empty(), "{found:#?}");
    // The rule has teeth: the 3.0 way of declaring a nullable enum breaks it.
    let old = json!({"components": {"schemas": {"CustomerBody": {"properties": {"locale":
        {"type": "string", "nullable": true, "enum": ["ru", "en", null]}}}}}});
    let mut found = Vec::new();
    generator_unfriendly(&old, "", &mut found);
    assert_eq!(found.len(), 2, "{found:#?}");
}

#[test]
fn every_keyed_route_requires_the_bearer_key_and_only_the_signed_link_routes_are_open() {
    let spec = spec();
    let scheme = &spec.doc["components"]["securitySchemes"]["bearerAuth"];
    assert_eq!((scheme["type"].as_str(), scheme["scheme"].as_str()), (Some("http"), Some("bearer")));
    assert_eq!(spec.doc["security"], json!([{"bearerAuth": []}]), "the key is required by default");
    for (path, method) in spec.operations() {
        let op = spec.operation(&path, &method);
        let open = op.get("security") == Some(&json!([]));
        assert_eq!(open, OPEN_ROUTES.contains(&path.as_str()), "{method} {path}: security");
        let has_401 = spec.response(&path, &method, 401).is_some();
        assert_eq!(has_401, !open, "{method} {path}: a keyed operation documents 401, an open one does not");
    }
}

#[test]
fn the_routes_in_the_document_are_exactly_the_routes_the_router_serves() {
    let spec = spec();
    let documented = spec.operations();
    let listed = listed_routes();
    let undocumented: Vec<_> = listed.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&listed).collect();
    assert!(undocumented.is_empty(), "served but not documented: {undocumented:?}");
    assert!(unserved.is_empty(), "documented but not served: {unserved:?}");

}

#[tokio::test]
async fn every_documented_operation_is_served_and_every_other_method_is_405() {
    let spec = spec();
    let t = TestApp::spawn().await;
    assert_eq!(t.put("/v1/customers/c1", json!({})).await.status, StatusCode::CREATED);
    let not_allowed = spec.deref(&spec.doc["components"]["responses"]["MethodNotAllowed"]).clone();
    let documented = spec.operations();
    let paths: BTreeSet<&str> = ROUTES.iter().map(|(p, _)| *p).collect();
    for path in paths {
        let uri = concrete(path);
        let allowed = |m: &str| {
            documented.contains(&(path.to_owned(), m.to_owned()))
                || (m == "HEAD" && documented.contains(&(path.to_owned(), "GET".to_owned())))
        };
        // DELETE last, so every other probe still finds the customer.
        for m in METHODS.iter().filter(|m| **m != "DELETE").chain(std::iter::once(&"DELETE")) {
            let r = t.send(method(m), &uri, Some(&t.key), Some(b"{}".to_vec())).await;
            let what = format!("{m} {uri} → {}: {}", r.status, r.text);
            if allowed(m) {
                assert_ne!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{what}");
                assert_ne!(r.status, StatusCode::NOT_FOUND, "{what}: a served route answered 404");
                if *m != "HEAD" {
                    assert!(spec.response(path, m, r.status.as_u16()).is_some(), "{what}: status not documented");
                }
            } else {
                assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{what}: an undocumented method is served");
                if *m != "HEAD" {
                    spec.check_answer(&not_allowed, &r, &what);
                }
                let allow: BTreeSet<&str> = r.headers["allow"].to_str().unwrap().split(',').map(str::trim).collect();
                let expected: BTreeSet<&str> = METHODS.into_iter().filter(|m| allowed(m)).collect();
                assert_eq!(allow, expected, "{what}: the Allow header names other methods than the document");
            }
        }
    }
}

#[tokio::test]
async fn paths_next_to_the_routes_are_not_served_and_answer_the_documented_404() {
    let spec = spec();
    let t = TestApp::spawn().await;
    let not_found = spec.deref(&spec.doc["components"]["responses"]["RouteNotFound"]).clone();
    for uri in NOT_ROUTES {
        for m in ["GET", "PUT", "POST", "DELETE"] {
            for key in [Some(t.key.as_str()), None] {
                let r = t.send(method(m), uri, key, None).await;
                let what = format!("{m} {uri} (key: {}) → {}: {}", key.is_some(), r.status, r.text);
                assert_eq!(r.status, StatusCode::NOT_FOUND, "{what}");
                assert_eq!(spec.check_answer(&not_found, &r, &what), "not_found", "{what}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Error codes
// ---------------------------------------------------------------------------------------------

/// One of every use-case error. The match makes a new variant a compile error here, so the
/// document's code list is revisited when one is added.
fn every_core_error() -> Vec<Error> {
    let all = vec![
        Error::invalid("amount", "bad"),
        Error::Unauthorized,
        Error::Forbidden,
        Error::CustomerNotFound,
        Error::ReceiptNotFound,
        Error::CustomerErased,
        Error::ConsentWithdrawn(ConsentWithdrawn {
            channel: Channel::Email,
            withdrawal: ConsentChange { granted: false, at: chrono::Utc::now(), source: ConsentSource::UnsubscribeLink },
        }),
        Error::ReceiptConflict,
        Error::RefundConflict,
        Error::RefundCustomerMismatch,
        Error::InvalidReferral(RefusedReferral::HasPurchases),
        Error::InsufficientPoints { balance: 1 },
        Error::RedeemCapExceeded { max_points: 1 },
        Error::CurrencyMismatch { expected: "RUB".into(), got: "EUR".into() },
        Error::UnknownStore { store: "\"store-9\"".into(), known: "store-1".into() },
        Error::OccurredAtInFuture,
        Error::OccurredAtTooOld { max_days: 30 },
        Error::RefundExceedsRemaining { remaining_minor: 1 },
        Error::RefundBeforePurchase,
        Error::InvalidToken,
        Error::LinkExpired,
        Error::SurveyLink(TokenProblem::Invalid),
        Error::SurveyLink(TokenProblem::Expired(chrono::NaiveDate::MIN)),
        Error::SurveyAnswer(AnswerRefused::Expired(chrono::NaiveDate::MIN)),
        Error::SurveyAnswer(AnswerRefused::Closed(chrono::NaiveDate::MIN)),
        Error::Contention,
        Error::PointsOverflow(PointsOverflow),
        Error::Store(StoreError::Conflict),
        Error::Store(StoreError::Duplicate),
        Error::Store(StoreError::Unavailable("down".into())),
        Error::Store(StoreError::Corrupt("bad row".into())),
    ];
    for e in &all {
        match e {
            Error::InvalidField { .. }
            | Error::Unauthorized
            | Error::Forbidden
            | Error::CustomerNotFound
            | Error::ReceiptNotFound
            | Error::CustomerErased
            | Error::ConsentWithdrawn(_)
            | Error::ReceiptConflict
            | Error::RefundConflict
            | Error::RefundCustomerMismatch
            | Error::InvalidReferral(_)
            | Error::InsufficientPoints { .. }
            | Error::RedeemCapExceeded { .. }
            | Error::CurrencyMismatch { .. }
            | Error::UnknownStore { .. }
            | Error::OccurredAtInFuture
            | Error::OccurredAtTooOld { .. }
            | Error::RefundExceedsRemaining { .. }
            | Error::RefundBeforePurchase
            | Error::InvalidToken
            | Error::LinkExpired
            | Error::SurveyLink(_)
            | Error::SurveyAnswer(_)
            | Error::Contention
            | Error::PointsOverflow(_)
            | Error::Store(StoreError::Conflict)
            | Error::Store(StoreError::Duplicate)
            | Error::Store(StoreError::Unavailable(_))
            | Error::Store(StoreError::Corrupt(_)) => {}
        }
    }
    all
}

/// Every (code, status) the API can answer: use-case errors plus the HTTP layer's own.
async fn every_api_error() -> BTreeSet<(String, u16)> {
    let mut errors: Vec<ApiError> = every_core_error().into_iter().map(ApiError::from).collect();
    errors.push(ApiError::not_found());
    errors.push(ApiError::method_not_allowed());
    for body in [&b"{not json"[..], b"\"receipt\"", br#"{"amount": 1}"#, br#"{"discount": 1}"#] {
        errors.push(from_slice::<PurchaseBody>(body).expect_err("a bad body"));
    }
    errors.push(from_slice::<CustomerBody>(br#"{"name": 5}"#).expect_err("a bad field"));
    errors.push(parse_json::<PurchaseBody>(Body::from(vec![b' '; 70 * 1024])).await.expect_err("too large"));
    errors.into_iter().map(|e| (e.code.to_owned(), e.status.as_u16())).collect()
}

#[tokio::test]
async fn the_error_code_enum_is_exactly_the_codes_the_server_can_answer() {
    let spec = spec();
    let produced: BTreeSet<String> = every_api_error().await.into_iter().map(|(c, _)| c).collect();
    let documented: BTreeSet<String> = spec.doc["components"]["schemas"]["ErrorCode"]["enum"]
        .as_array()
        .expect("ErrorCode is an enum")
        .iter()
        .map(|v| v.as_str().expect("a code").to_owned())
        .collect();
    assert_eq!(documented, produced);
}

#[tokio::test]
async fn every_documented_error_code_is_listed_under_the_status_the_server_gives_it() {
    let spec = spec();
    let status_of: BTreeMap<String, u16> = every_api_error().await.into_iter().collect();
    let mut seen = BTreeSet::new();
    for (op, status, code) in spec.documented_outcomes() {
        if status >= 400 {
            assert_eq!(status_of.get(&code), Some(&status), "{op}: {code} is listed under {status}");
            seen.insert(code);
        }
    }
    for name in ["RouteNotFound", "MethodNotAllowed"] {
        let response = spec.deref(&spec.doc["components"]["responses"][name]);
        for code in spec.documented_codes(response) {
            assert!(matches!(status_of.get(&code), Some(404 | 405)), "{name}: {code}");
            seen.insert(code);
        }
    }
    let unused: Vec<_> = status_of.keys().filter(|c| !seen.contains(*c)).collect();
    assert!(unused.is_empty(), "codes the server answers that no response documents: {unused:?}");
}

/// What the router would send for `e`, as the harness reads answers.
async fn answer_for(e: Error) -> TestResponse {
    let response = axum::response::IntoResponse::into_response(ApiError::from(e));
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = http_body_util::BodyExt::collect(response.into_body()).await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    TestResponse { status, headers, body, text }
}

#[tokio::test]
async fn store_faults_answer_the_documented_500_and_503_of_every_operation() {
    let spec = spec();
    let mut faults = 0;
    for e in every_core_error() {
        let r = answer_for(e).await;
        if !r.status.is_server_error() {
            continue;
        }
        faults += 1;
        for (path, m) in spec.operations() {
            let what = format!("{m} {path} → {} {}", r.status, r.error_code());
            let response = spec
                .response(&path, &m, r.status.as_u16())
                .unwrap_or_else(|| panic!("{what}: a store fault can happen here but the status is not documented"));
            spec.check_answer(response, &r, &what);
        }
    }
    assert_eq!(faults, 6, "conflict, duplicate and unavailable (503), corrupt and points overflow (500), contention (503)");
}

#[test]
fn every_example_in_the_document_fits_its_schema() {
    let spec = spec();
    let mut checked = 0;
    for (path, method) in spec.operations() {
        let op = spec.operation(&path, &method);
        let mut media: Vec<(String, &Value)> = Vec::new();
        if let Some(content) = spec.deref(&op["requestBody"]).get("content").and_then(Value::as_object) {
            media.extend(content.iter().map(|(t, m)| (format!("{method} {path} request {t}"), m)));
        }
        for (status, response) in op["responses"].as_object().unwrap() {
            if let Some(content) = spec.deref(response).get("content").and_then(Value::as_object) {
                media.extend(content.iter().map(|(t, m)| (format!("{method} {path} {status} {t}"), m)));
            }
        }
        for (what, m) in media {
            for (name, example) in m.get("examples").and_then(Value::as_object).into_iter().flatten() {
                let value = &spec.deref(example)["value"];
                spec.validate(&m["schema"], value, false).unwrap_or_else(|e| panic!("{what} example {name}: {e}"));
                checked += 1;
            }
        }
    }
    for (name, schema) in spec.doc["components"]["schemas"].as_object().unwrap() {
        if let Some(example) = schema.get("example") {
            spec.validate(schema, example, true).unwrap_or_else(|e| panic!("schema {name} example: {e}"));
            checked += 1;
        }
    }
    for (name, response) in spec.doc["components"]["responses"].as_object().unwrap() {
        for (t, m) in response["content"].as_object().into_iter().flatten() {
            for (ex, example) in m["examples"].as_object().into_iter().flatten() {
                spec.validate(&m["schema"], &example["value"], false)
                    .unwrap_or_else(|e| panic!("response {name} {t} example {ex}: {e}"));
                checked += 1;
            }
        }
    }
    assert!(checked > 20, "only {checked} examples found");
}

// ---------------------------------------------------------------------------------------------
// A scripted session through every documented outcome
// ---------------------------------------------------------------------------------------------

const CUSTOMER: &str = "/v1/customers/{customer_id}";
const BALANCE: &str = "/v1/customers/{customer_id}/balance";
const CONSENT: &str = "/v1/customers/{customer_id}/consent";
const PURCHASES: &str = "/v1/purchases";
const REFUNDS: &str = "/v1/refunds";
const UNSUBSCRIBE: &str = "/v1/unsubscribe";
const REPORTS: &str = "/v1/reports/triggers";
const REPORT_VIEW: &str = "/v1/reports/view";
const REFERRALS: &str = "/v1/referrals/{code}";
const SURVEY: &str = "/v1/survey";
const WORD_OF_MOUTH: &str = "/v1/reports/word-of-mouth";

struct Session {
    spec: Spec,
    t: TestApp,
    seen: BTreeSet<(String, u16, String)>,
}

impl Session {
    async fn new() -> Self {
        // The program lists its stores, so a receipt from another one can be refused.
        let config = ProgramConfig::from_toml_str("[stores.store-1]\nname = \"Tverskaya\"\n[stores.store-2]\nname = \"Arbat\"")
            .expect("a program with stores");
        Self { spec: spec(), t: TestApp::with_config(config).await, seen: BTreeSet::new() }
    }

    /// Sends a request to the route `template`, checks the answer against the document for
    /// that operation and records which outcome it was.
    async fn send(&mut self, template: &str, m: Method, uri: &str, keyed: bool, body: Option<Vec<u8>>) -> TestResponse {
        let key = keyed.then(|| self.t.key.clone());
        self.send_with(template, m, uri, key, body).await
    }

    /// A GET with the admin key.
    async fn admin(&mut self, template: &str, uri: &str) -> TestResponse {
        let key = Some(self.t.admin_key.clone());
        self.send_with(template, Method::GET, uri, key, None).await
    }

    async fn send_with(
        &mut self,
        template: &str,
        m: Method,
        uri: &str,
        key: Option<String>,
        body: Option<Vec<u8>>,
    ) -> TestResponse {
        let r = self.t.send(m.clone(), uri, key.as_deref(), body).await;
        self.record(template, m, uri, r)
    }

    /// An HTML form's POST (no key), checked and recorded as `send` does.
    async fn form(&mut self, template: &str, uri: &str, fields: &str) -> TestResponse {
        let r = self.t.post_form(uri, fields).await;
        self.record(template, Method::POST, uri, r)
    }

    /// Checks an answer against the document for its operation and records which outcome it was.
    fn record(&mut self, template: &str, m: Method, uri: &str, r: TestResponse) -> TestResponse {
        let what = format!("{m} {uri} → {}", r.status);
        let response = self
            .spec
            .response(template, m.as_str(), r.status.as_u16())
            .unwrap_or_else(|| panic!("{what}: {m} {template} does not document {}: {}", r.status, r.text));
        let code = self.spec.check_answer(response, &r, &what);
        self.seen.insert((format!("{m} {template}"), r.status.as_u16(), code));
        r
    }

    async fn json(&mut self, template: &str, m: Method, uri: &str, body: Value) -> TestResponse {
        self.send(template, m, uri, true, Some(body.to_string().into_bytes())).await
    }

    async fn raw(&mut self, template: &str, m: Method, uri: &str, body: &[u8]) -> TestResponse {
        self.send(template, m, uri, true, Some(body.to_vec())).await
    }

    async fn bare(&mut self, template: &str, m: Method, uri: &str) -> TestResponse {
        self.send(template, m, uri, true, None).await
    }

    async fn without_key(&mut self, template: &str, m: Method, uri: &str) -> TestResponse {
        self.send(template, m, uri, false, Some(b"{}".to_vec())).await
    }

    /// The documented outcomes no request of the session reached (store faults excepted).
    fn missed(&self) -> Vec<(String, u16, String)> {
        self.spec
            .documented_outcomes()
            .into_iter()
            .filter(|(_, status, code)| !FAULT_ONLY.contains(&(*status, code.as_str())))
            .filter(|o| !self.seen.contains(o))
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// A shop with a sweep behind it, for the trigger report
// ---------------------------------------------------------------------------------------------

/// A purchase through the use case, made at noon in Moscow on `day` (any age).
async fn bought(t: &TestApp, receipt: &str, customer: &str, day: &str, amount_minor: u64) {
    t.record_purchase(receipt, customer, noon(date(day)), amount_minor, 0).await;
}

/// Customers who last bought on 1 August 2026 are lapsed_60 on 1 October, when a sweep
/// messages the treated (one by SMS) and holds the others out; then one treated and one
/// held-out customer buy within the 14-day window. Every nullable field of the lapsed_60 row
/// then has a value (the extra revenue a negative one), and the other rows have nulls.
async fn shop_with_a_lapsed_60_sweep(t: &TestApp) {
    let treated = t.holdout_ids(TriggerKind::Lapsed60, 2026, "rep-t", false, 3);
    let held = t.holdout_ids(TriggerKind::Lapsed60, 2026, "rep-h", true, 2);
    for (i, id) in treated.iter().chain(&held).enumerate() {
        t.enroll_contact(id, true, i == 0, noon(date("2026-08-01"))).await;
        bought(t, &format!("{id}-first"), id, "2026-08-01", 100_000).await;
    }
    let messenger = RecordingMessenger::default();
    let sweep = t.app.sweep(&messenger, date("2026-10-01"), noon(date("2026-10-01")), SweepOptions::default());
    sweep.await.expect("sweep");
    assert_eq!(messenger.sent().len(), 3, "the treated were messaged");
    bought(t, "rep-after-1", &treated[1], "2026-10-05", 120_000).await;
    bought(t, "rep-after-2", &held[0], "2026-10-07", 80_000).await;
}

fn purchase(receipt: &str, amount: i64, redeem: i64, at: &str) -> Value {
    json!({"receipt_id": receipt, "customer_id": "c1", "amount": amount, "currency": "RUB",
           "occurred_at": at, "store_id": "store-1", "redeem_points": redeem})
}

fn refund(id: &str, receipt: &str, amount: i64, at: &str) -> Value {
    json!({"refund_id": id, "receipt_id": receipt, "amount": amount, "occurred_at": at})
}

/// A JSON body over the 64 KiB limit.
fn oversized() -> Vec<u8> {
    json!({"name": "x".repeat(70 * 1024)}).to_string().into_bytes()
}

fn without(mut body: Value, field: &str) -> Value {
    body.as_object_mut().unwrap().remove(field);
    body
}

fn with(mut body: Value, field: &str, value: Value) -> Value {
    body[field] = value;
    body
}

fn assert_outcome(r: &TestResponse, status: StatusCode, code: &str) {
    assert_eq!((r.status, r.error_code()), (status, code), "{}", r.text);
}

#[tokio::test]
async fn a_session_through_every_documented_outcome_gets_only_documented_answers_that_fit_their_schemas() {
    let mut s = Session::new().await;
    let (put, get, post, delete) = (Method::PUT, Method::GET, Method::POST, Method::DELETE);
    let at = "2026-11-24T09:00:00+03:00";

    // PUT /v1/customers/{customer_id}
    let profile = json!({"phone": "+79161234567", "email": "anna@example.ru", "name": "Anna",
                         "birthday": "1990-02-28", "consent": {"email": true, "sms": false},
                         "preferred_channel": "email", "locale": "ru"});
    assert_outcome(&s.json(CUSTOMER, put.clone(), "/v1/customers/c1", profile).await, StatusCode::CREATED, "");
    let r = s.json(CUSTOMER, put.clone(), "/v1/customers/c1", json!({"name": null, "consent": {"sms": true}})).await;
    assert_outcome(&r, StatusCode::OK, "");
    assert!(r.body["name"].is_null());
    let r = s.raw(CUSTOMER, put.clone(), "/v1/customers/c1", b"{not json").await;
    assert_outcome(&r, StatusCode::BAD_REQUEST, "malformed_json");
    let r = s.raw(CUSTOMER, put.clone(), "/v1/customers/c1", b"[]").await;
    assert_outcome(&r, StatusCode::BAD_REQUEST, "invalid_body");
    let r = s.json(CUSTOMER, put.clone(), "/v1/customers/c1", json!({"phone": "89161234567"})).await;
    assert_outcome(&r, StatusCode::BAD_REQUEST, "invalid_field");
    let r = s.json(CUSTOMER, put.clone(), "/v1/customers/bad%20id", json!({})).await;
    assert_outcome(&r, StatusCode::BAD_REQUEST, "invalid_field");
    let r = s.json(CUSTOMER, put.clone(), "/v1/customers/c1", json!({"consent": {"emails": true}})).await;
    assert_outcome(&r, StatusCode::BAD_REQUEST, "unknown_field");
    let r = s.without_key(CUSTOMER, put.clone(), "/v1/customers/c1").await;
    assert_outcome(&r, StatusCode::UNAUTHORIZED, "unauthorized");
    let r = s.raw(CUSTOMER, put.clone(), "/v1/customers/c1", &oversized()).await;
    assert_outcome(&r, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");

    // A friend's code: checked at the till, then refused for a customer who has it already.
    let code = s.bare(CUSTOMER, get.clone(), "/v1/customers/c1").await.body["referral_code"].as_str().unwrap().to_owned();
    let r = s.bare(REFERRALS, get.clone(), &format!("/v1/referrals/{code}")).await;
    assert_outcome(&r, StatusCode::OK, "");
    assert_eq!(r.body["valid"], true);
    let r = s.bare(REFERRALS, get.clone(), "/v1/referrals/not-a-code").await;
    assert_outcome(&r, StatusCode::BAD_REQUEST, "invalid_field");
    let r = s.without_key(REFERRALS, get.clone(), &format!("/v1/referrals/{code}")).await;
    assert_outcome(&r, StatusCode::UNAUTHORIZED, "unauthorized");
    let r = s.json(CUSTOMER, put.clone(), "/v1/customers/c1", json!({"referred_by": code})).await;
    assert_outcome(&r, StatusCode::UNPROCESSABLE_ENTITY, "invalid_referral");

    // GET /v1/customers/{customer_id}
    assert_outcome(&s.bare(CUSTOMER, get.clone(), "/v1/customers/c1").await, StatusCode::OK, "");
    let r = s.bare(CUSTOMER, get.clone(), "/v1/customers/bad%20id").await;
    assert_outcome(&r, StatusCode::BAD_REQUEST, "invalid_field");
    let r = s.bare(CUSTOMER, get.clone(), "/v1/customers/nobody").await;
    assert_outcome(&r, StatusCode::NOT_FOUND, "customer_not_found");
    let r = s.without_key(CUSTOMER, get.clone(), "/v1/customers/c1").await;
    assert_outcome(&r, StatusCode::UNAUTHORIZED, "unauthorized");

    // POST /v1/purchases
    let first = purchase("r1", 123_456, 0, at);
    let r = s.json(PURCHASES, post.clone(), "/v1/purchases", first.clone()).await;
    assert_outcome(&r, StatusCode::CREATED, "");
    assert!(r.headers.get("idempotent-replayed").is_none(), "a first answer is no replay");
    let replay = s.json(PURCHASES, post.clone(), "/v1/purchases", first.clone()).await;
    assert_outcome(&replay, StatusCode::OK, "");
    assert_eq!(replay.headers["idempotent-replayed"], "true");
    assert_eq!(replay.body, r.body);
    let r = s.json(PURCHASES, post.clone(), "/v1/purchases", with(first.clone(), "amount", json!(123_457))).await;
    assert_outcome(&r, StatusCode::CONFLICT, "receipt_conflict");
    let r = s.json(PURCHASES, post.clone(), "/v1/purchases", purchase("r2", 10_000, 31, at)).await;
    assert_outcome(&r, StatusCode::UNPROCESSABLE_ENTITY, "redeem_cap_exceeded");
    let r = s.json(PURCHASES, post.clone(), "/v1/purchases", purchase("r2", 100_000, 62, at)).await;
    assert_outcome(&r, StatusCode::UNPROCESSABLE_ENTITY, "insufficient_points");
    let r = s
        .json(PURCHASES, post.clone(), "/v1/purchases", with(purchase("r2", 1_000, 0, at), "currency", json!("EUR")))
        .await;
    assert_outcome(&r, StatusCode::UNPROCESSABLE_ENTITY, "currency_mismatch");
    let r = s
        .json(PURCHASES, post.clone(), "/v1/purchases", with(purchase("r2", 1_000, 0, at), "store_id", json!("store-9")))
        .await;
    assert_outcome(&r, StatusCode::UNPROCESSABLE_ENTITY, "unknown_store");
    let r =
        s.json(PURCHASES, post.clone(), "/v1/purchases", purchase("r2", 1_000, 0, "2026-11-24T10:05:01+03:00")).await;
    assert_outcome(&r, StatusCode::UNPROCESSABLE_ENTITY, "occurred_at_in_future");
    let r =
        s.json(PURCHASES, post.clone(), "/v1/purchases", purchase("r2", 1_000, 0, "2026-10-01T09:00:00+03:00")).await;
    assert_outcome(&r, StatusCode::UNPROCESSABLE_ENTITY, "occurred_at_too_old");
    let r = s.raw(PURCHASES, post.clone(), "/v1/purchases", b"{\"receipt_id\": ").await;
    assert_outcome(&r, StatusCode::BAD_REQUEST, "malformed_json");
    let r = s.raw(PURCHASES, post.clone(), "/v1/purchases", b"\"receipt\"").await;
    assert_outcome(&r, StatusCode::BAD_REQUEST, "invalid_body");
    let r = s.json(PURCHASES, post.clone(), "/v1/purchases", with(purchase("r2", 1, 0, at), "amount", json!(0))).await;
    assert_outcome(&r, StatusCode::BAD_REQUEST, "invalid_field");
    let r = s.json(PURCHASES, post.clone(), "/v1/purchases", without(purchase("r2", 1, 0, at), "amount")).await;
    assert_outcome(&r, StatusCode::BAD_REQUEST, "missing_field");
    let r =
        s.json(PURCHASES, post.clone(), "/v1/purchases", with(purchase("r2", 1, 0, at), "discount", json!(5))).await;
    assert_outcome(&r, StatusCode::BAD_REQUEST, "unknown_field");
    let r = s.without_key(PURCHASES, post.clone(), "/v1/purchases").await;
    assert_outcome(&r, StatusCode::UNAUTHORIZED, "unauthorized");
    let r = s.raw(PURCHASES, post.clone(), "/v1/purchases", &oversized()).await;
    assert_outcome(&r, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    // Spend 50 of the 61 points: 18 are left for the refund below to take.
    let r =
        s.json(PURCHASES, post.clone(), "/v1/purchases", purchase("r3", 20_000, 50, "2026-11-24T09:40:00+03:00")).await;
    assert_outcome(&r, StatusCode::CREATED, "");
    assert_eq!(r.body["balance"], 18);

    // GET /v1/customers/{customer_id}/balance
    let r = s.bare(BALANCE, get.clone(), "/v1/customers/c1/balance").await;
    assert_outcome(&r, StatusCode::OK, "");
    assert_eq!(r.body["expiring"].as_array().map(Vec::len), Some(1));
    let r = s.bare(BALANCE, get.clone(), "/v1/customers/bad%20id/balance").await;
    assert_outcome(&r, StatusCode::BAD_REQUEST, "invalid_field");
    let r = s.bare(BALANCE, get.clone(), "/v1/customers/nobody/balance").await;
    assert_outcome(&r, StatusCode::NOT_FOUND, "customer_not_found");
    let r = s.without_key(BALANCE, get.clone(), "/v1/customers/c1/balance").await;
    assert_outcome(&r, StatusCode::UNAUTHORIZED, "unauthorized");

    // POST /v1/refunds: a full refund of r1 owes 61 points, only 18 are left.
    let full = refund("f1", "r1", 123_456, "2026-11-24T09:50:00+03:00");
    let r = s.json(REFUNDS, post.clone(), "/v1/refunds", full.clone()).await;
    assert_outcome(&r, StatusCode::CREATED, "");
    assert_eq!((&r.body["points_clawed_back"], &r.body["points_written_off"]), (&json!(18), &json!(43)));
    let replay = s.json(REFUNDS, post.clone(), "/v1/refunds", full.clone()).await;
    assert_outcome(&replay, StatusCode::OK, "");
    assert_eq!(replay.headers["idempotent-replayed"], "true");
    assert_eq!(replay.body, r.body);
    let r = s.json(REFUNDS, post.clone(), "/v1/refunds", with(full.clone(), "amount", json!(1))).await;
    assert_outcome(&r, StatusCode::CONFLICT, "refund_conflict");
    let r = s.json(REFUNDS, post.clone(), "/v1/refunds", refund("f2", "nope", 100, at)).await;
    assert_outcome(&r, StatusCode::NOT_FOUND, "receipt_not_found");
    let r = s.json(REFUNDS, post.clone(), "/v1/refunds", refund("f2", "r3", 20_001, "2026-11-24T09:50:00+03:00")).await;
    assert_outcome(&r, StatusCode::UNPROCESSABLE_ENTITY, "refund_exceeds_remaining");
    let r = s.json(REFUNDS, post.clone(), "/v1/refunds", refund("f2", "r3", 100, "2026-11-24T09:39:59+03:00")).await;
    assert_outcome(&r, StatusCode::UNPROCESSABLE_ENTITY, "refund_before_purchase");
    let r = s.json(REFUNDS, post.clone(), "/v1/refunds", refund("f2", "r3", 100, "2026-11-24T10:05:01+03:00")).await;
    assert_outcome(&r, StatusCode::UNPROCESSABLE_ENTITY, "occurred_at_in_future");
    let r = s.json(REFUNDS, post.clone(), "/v1/refunds", with(refund("f2", "r3", 100, at), "customer_id", json!("c2"))).await;
    assert_outcome(&r, StatusCode::UNPROCESSABLE_ENTITY, "receipt_customer_mismatch");
    let r = s.raw(REFUNDS, post.clone(), "/v1/refunds", b"{\"refund_id\" \"f2\"}").await;
    assert_outcome(&r, StatusCode::BAD_REQUEST, "malformed_json");
    let r = s.raw(REFUNDS, post.clone(), "/v1/refunds", b"null").await;
    assert_outcome(&r, StatusCode::BAD_REQUEST, "invalid_body");
    let r = s.json(REFUNDS, post.clone(), "/v1/refunds", refund("f 2", "r3", 100, at)).await;
    assert_outcome(&r, StatusCode::BAD_REQUEST, "invalid_field");
    let r = s.json(REFUNDS, post.clone(), "/v1/refunds", without(refund("f2", "r3", 100, at), "occurred_at")).await;
    assert_outcome(&r, StatusCode::BAD_REQUEST, "missing_field");
    let r = s.json(REFUNDS, post.clone(), "/v1/refunds", with(refund("f2", "r3", 100, at), "reason", json!("x"))).await;
    assert_outcome(&r, StatusCode::BAD_REQUEST, "unknown_field");
    let r = s.without_key(REFUNDS, post.clone(), "/v1/refunds").await;
    assert_outcome(&r, StatusCode::UNAUTHORIZED, "unauthorized");
    let r = s.raw(REFUNDS, post.clone(), "/v1/refunds", &oversized()).await;
    assert_outcome(&r, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    // Half of r3 back, naming its customer: half of the 50 spent points return.
    let half = with(refund("f2", "r3", 10_000, "2026-11-24T09:50:00+03:00"), "customer_id", json!("c1"));
    let r = s.json(REFUNDS, post.clone(), "/v1/refunds", half).await;
    assert_outcome(&r, StatusCode::CREATED, "");
    assert_eq!(r.body["points_restored"], 25);

    // DELETE /v1/customers/{customer_id}, and PUT on an erased customer.
    let r = s.json(CUSTOMER, put.clone(), "/v1/customers/c2", json!({"email": "b@example.ru"})).await;
    assert_outcome(&r, StatusCode::CREATED, "");
    assert_outcome(&s.bare(CUSTOMER, delete.clone(), "/v1/customers/c2").await, StatusCode::NO_CONTENT, "");
    let r = s.json(CUSTOMER, put.clone(), "/v1/customers/c2", json!({"email": "b@example.ru"})).await;
    assert_outcome(&r, StatusCode::CONFLICT, "customer_erased");
    let r = s.bare(CUSTOMER, get.clone(), "/v1/customers/c2").await;
    assert_eq!((r.status, &r.body["erased"], &r.body["email"]), (StatusCode::OK, &json!(true), &Value::Null));
    let r = s.bare(CUSTOMER, delete.clone(), "/v1/customers/bad%20id").await;
    assert_outcome(&r, StatusCode::BAD_REQUEST, "invalid_field");
    let r = s.bare(CUSTOMER, delete.clone(), "/v1/customers/nobody").await;
    assert_outcome(&r, StatusCode::NOT_FOUND, "customer_not_found");
    let r = s.without_key(CUSTOMER, delete.clone(), "/v1/customers/c1").await;
    assert_outcome(&r, StatusCode::UNAUTHORIZED, "unauthorized");

    // /v1/unsubscribe, without a key.
    let token = s.t.app.unsubscribe_token(&CustomerId::parse("c1").unwrap()).await.unwrap();
    let uri = format!("/v1/unsubscribe?token={token}");
    let r = s.send(UNSUBSCRIBE, get.clone(), &uri, false, None).await;
    assert_outcome(&r, StatusCode::OK, "");
    assert_eq!(s.t.get("/v1/customers/c1").await.body["consent"]["email"], true, "GET changes nothing");
    let r = s.send(UNSUBSCRIBE, post.clone(), &uri, false, Some(b"List-Unsubscribe=One-Click".to_vec())).await;
    assert_outcome(&r, StatusCode::OK, "");
    let r = s.send(UNSUBSCRIBE, get.clone(), "/v1/unsubscribe", false, None).await;
    assert_outcome(&r, StatusCode::BAD_REQUEST, "invalid_token");
    let r = s.send(UNSUBSCRIBE, post.clone(), &format!("{uri}x"), false, None).await;
    assert_outcome(&r, StatusCode::BAD_REQUEST, "invalid_token");

    // /v1/reports/view, without a key: the digest's link, altered, and after its 7 days.
    let started = boomerang_api::Clock::now(&s.t.clock);
    let digest = s.t.app.owner_digest(s.t.app.today(started), started).await.unwrap();
    let uri = format!("{REPORT_VIEW}?token={}", digest.view_url.split_once("token=").unwrap().1);
    assert_outcome(&s.send(REPORT_VIEW, get.clone(), &uri, false, None).await, StatusCode::OK, "");
    let r = s.send(REPORT_VIEW, get.clone(), &format!("{uri}x"), false, None).await;
    assert_outcome(&r, StatusCode::BAD_REQUEST, "invalid_token");
    s.t.clock.set(started + chrono::Duration::days(7));
    let r = s.send(REPORT_VIEW, get.clone(), &uri, false, None).await;
    assert_outcome(&r, StatusCode::GONE, "link_expired");
    s.t.clock.set(started);

    // The customer's unsubscribe sticks: a PUT that merely says true is refused, a renewal is not.
    let r = s.json(CUSTOMER, put.clone(), "/v1/customers/c1", json!({"consent": {"email": true}})).await;
    assert_outcome(&r, StatusCode::CONFLICT, "consent_withdrawn");
    assert_eq!(r.error_field(), Some("consent.email"));
    let renewed = json!({"consent": {"email": true}, "consent_renewed": ["email"]});
    assert_outcome(&s.json(CUSTOMER, put.clone(), "/v1/customers/c1", renewed).await, StatusCode::OK, "");

    // GET /v1/customers/{customer_id}/consent: admin keys only.
    let r = s.admin(CONSENT, "/v1/customers/c1/consent").await;
    assert_outcome(&r, StatusCode::OK, "");
    assert_eq!(r.body["email"]["last_change"]["source"], "pos:till-1", "{}", r.text);
    assert_outcome(&s.admin(CONSENT, "/v1/customers/nobody/consent").await, StatusCode::NOT_FOUND, "customer_not_found");
    assert_outcome(&s.admin(CONSENT, "/v1/customers/bad%20id/consent").await, StatusCode::BAD_REQUEST, "invalid_field");
    let r = s.bare(CONSENT, get.clone(), "/v1/customers/c1/consent").await;
    assert_outcome(&r, StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(r.body.as_object().map(|o| o.len()), Some(1), "a POS key gets the error and nothing else: {}", r.text);
    let r = s.without_key(CONSENT, get.clone(), "/v1/customers/c1/consent").await;
    assert_outcome(&r, StatusCode::UNAUTHORIZED, "unauthorized");

    // GET /v1/reports/triggers: admin keys only, over a sweep's outcomes and later purchases.
    shop_with_a_lapsed_60_sweep(&s.t).await;
    let october = "/v1/reports/triggers?from=2026-10-01&to=2026-10-31";
    let r = s.admin(REPORTS, october).await;
    assert_outcome(&r, StatusCode::OK, "");
    let period = (&r.body["from"], &r.body["to"], &r.body["today"]);
    assert_eq!(period, (&json!("2026-10-01"), &json!("2026-10-31"), &json!("2026-11-24")));
    let rows = r.body["rows"].as_array().expect("rows");
    let lapsed_60 = rows.iter().find(|row| row["trigger"] == "lapsed_60").expect("a lapsed_60 row");
    let nullable = [
        "attribution_days",
        "response_rate",
        "holdout_response_rate",
        "lift_pp",
        "lift_ci_low_pp",
        "lift_ci_high_pp",
        "responder_avg_check_minor",
        "all_avg_check_minor",
        "incremental_revenue_minor",
        "net_minor",
    ];
    for field in nullable {
        assert!(!lapsed_60[field].is_null(), "lapsed_60 {field} has a value, so its schema is tried: {}", r.text);
        let always = ["attribution_days", "all_avg_check_minor"];
        assert_eq!(rows[0][field].is_null(), !always.contains(&field), "lapsed_30 {field}: null when nobody was due");
    }
    assert_eq!((&lapsed_60["eligible"], &lapsed_60["treated"], &lapsed_60["sent_sms"]), (&json!(5), &json!(3), &json!(1)));
    assert_eq!((&lapsed_60["responders"], &lapsed_60["holdout_responders"]), (&json!(1), &json!(1)));
    assert_eq!(lapsed_60["incremental_revenue_minor"], json!(-60_000), "1/3 vs 1/2 of 120.000,00: a negative estimate");
    assert_eq!(r.body["messages_per_day"].as_array().map(Vec::len), Some(31));
    let r = s.admin(REPORTS, "/v1/reports/triggers").await;
    assert_outcome(&r, StatusCode::OK, "");
    assert_eq!((&r.body["from"], &r.body["to"]), (&json!("2026-09-02"), &json!("2026-10-01")), "the 30 days up to the last swept date");
    for (query, field) in [
        ("from=2026-10-32", "from"),
        ("to=2026-1-5", "to"),
        ("from=2026-11-02&to=2026-11-01", "from"),
        ("from=2025-11-23&to=2026-11-24", "to"),
    ] {
        let r = s.admin(REPORTS, &format!("/v1/reports/triggers?{query}")).await;
        assert_outcome(&r, StatusCode::BAD_REQUEST, "invalid_field");
        assert_eq!(r.error_field(), Some(field), "{query}: {}", r.text);
    }
    let r = s.bare(REPORTS, get.clone(), october).await;
    assert_outcome(&r, StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(r.body.as_object().map(|o| o.len()), Some(1), "a POS key gets the error and nothing else: {}", r.text);
    let r = s.without_key(REPORTS, get.clone(), october).await;
    assert_outcome(&r, StatusCode::UNAUTHORIZED, "unauthorized");

    survey_outcomes(&mut s).await;

    let missed = s.missed();
    assert!(missed.is_empty(), "documented outcomes the session never reached: {missed:#?}");
}

/// `/v1/survey`, without a key: a customer in the default 20 % sample bought on the start
/// day and was asked the next; their link's page and every answer and error.
async fn survey_outcomes(s: &mut Session) {
    let day = date("2026-11-24");
    let who = (0..100)
        .map(|n| format!("sv-{n}"))
        .find(|id| boomerang_core::domain::survey::in_sample(&CustomerId::parse(id).unwrap(), day, 20))
        .expect("someone in a 20 % sample of 100");
    s.t.put(&format!("/v1/customers/{who}"), json!({"email": "sv@example.ru", "consent": {"email": true}})).await;
    s.t.record_purchase(&format!("{who}-r"), &who, noon(day), 150_000, 0).await;
    let messenger = RecordingMessenger::default();
    let asked_at = noon(date("2026-11-25"));
    s.t.clock.set(asked_at);
    s.t.app.sweep(&messenger, date("2026-11-25"), asked_at, SweepOptions::default()).await.expect("sweep");
    let sent = messenger.sent().into_iter().find(|m| m.key.customer_id.as_str() == who).expect("the survey message");
    let token = sent.text.split_once("/v1/survey?token=").unwrap().1.split_whitespace().next().unwrap().to_owned();
    let uri = format!("/v1/survey?token={token}");
    let (get, post) = (Method::GET, Method::POST);
    assert_outcome(&s.send(SURVEY, get.clone(), &uri, false, None).await, StatusCode::OK, "");
    assert_outcome(&s.send(SURVEY, get.clone(), "/v1/survey", false, None).await, StatusCode::BAD_REQUEST, "invalid_token");
    let r = s.send(SURVEY, post.clone(), &uri, false, Some(json!({"score": 6, "comment": "slow"}).to_string().into_bytes())).await;
    assert_outcome(&r, StatusCode::OK, "");
    assert_eq!(r.body["score"], 6);
    assert_outcome(&s.form(SURVEY, &uri, "score=10").await, StatusCode::OK, "");
    let bad = [
        (format!("{uri}x"), br#"{"score": 5}"#.to_vec(), "invalid_token"),
        (uri.clone(), br#"{"score": 11}"#.to_vec(), "invalid_field"),
        (uri.clone(), b"{not json".to_vec(), "malformed_json"),
        (uri.clone(), b"[5]".to_vec(), "invalid_body"),
        (uri.clone(), b"{}".to_vec(), "missing_field"),
        (uri.clone(), br#"{"score": 5, "stars": 5}"#.to_vec(), "unknown_field"),
    ];
    for (target, body, code) in bad {
        assert_outcome(&s.send(SURVEY, post.clone(), &target, false, Some(body)).await, StatusCode::BAD_REQUEST, code);
    }
    let r = s.send(SURVEY, post.clone(), &uri, false, Some(vec![b' '; 70 * 1024])).await;
    assert_outcome(&r, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    s.t.clock.set(asked_at + chrono::Duration::days(8));
    let r = s.send(SURVEY, post.clone(), &uri, false, Some(br#"{"score": 3}"#.to_vec())).await;
    assert_outcome(&r, StatusCode::CONFLICT, "survey_closed");
    s.t.clock.set(asked_at + chrono::Duration::days(31));
    assert_outcome(&s.send(SURVEY, get, &uri, false, None).await, StatusCode::GONE, "survey_expired");
    let r = s.send(SURVEY, post, &uri, false, Some(br#"{"score": 3}"#.to_vec())).await;
    assert_outcome(&r, StatusCode::GONE, "survey_expired");

    // GET /v1/reports/word-of-mouth: admin keys only, over the survey just answered.
    let r = s.admin(WORD_OF_MOUTH, "/v1/reports/word-of-mouth?from=2026-11-01&to=2026-11-30").await;
    assert_outcome(&r, StatusCode::OK, "");
    assert_eq!((r.body["nps"]["total"]["answers"].clone(), r.body["nps"]["total"]["verdict"].clone()), (json!(1), json!("not enough data")));
    let r = s.admin(WORD_OF_MOUTH, "/v1/reports/word-of-mouth?from=2026-11-30&to=2026-11-01").await;
    assert_outcome(&r, StatusCode::BAD_REQUEST, "invalid_field");
    let r = s.bare(WORD_OF_MOUTH, Method::GET, "/v1/reports/word-of-mouth").await;
    assert_outcome(&r, StatusCode::FORBIDDEN, "forbidden");
    let r = s.without_key(WORD_OF_MOUTH, Method::GET, "/v1/reports/word-of-mouth").await;
    assert_outcome(&r, StatusCode::UNAUTHORIZED, "unauthorized");
}

// ---------------------------------------------------------------------------------------------
// Request schemas against the server's parsing
// ---------------------------------------------------------------------------------------------

/// Values the request schemas cannot judge like the server does: (operation, field, value as
/// JSON, why). The test checks each still differs, so the list (and the document's prose,
/// which describes these rules) is revisited when the server changes.
const SCHEMA_LIMITS: &[(&str, &str, &str, &str)] = &[
    ("PUT", "name", r#""   ""#, "the server trims before counting; minLength cannot"),
    ("PUT", "name", r#""Anna\u0007""#, "control characters are refused after trimming, so no pattern fits"),
    ("PUT", "birthday", r#""2030-01-01""#, "the range ends today, which a schema cannot say"),
    ("PUT", "birthday", r#""1899-12-31""#, "the range starts in 1900; format date has no minimum"),
    ("PUT", "email", r#""anna@localhost""#, "the server wants a dot in the domain; format email does not"),
    (
        "PUT",
        "consent_renewed",
        r#"["email"]"#,
        "a renewal must come with consent.email true in the same body; the schema does not tie the two",
    ),
    (
        "POST /v1/purchases",
        "occurred_at",
        r#""2026-11-24 09:00:00+03:00""#,
        "chrono takes a space for T; date-time does not",
    ),
    (
        "POST /v1/refunds",
        "occurred_at",
        r#""2026-11-24 09:00:00+03:00""#,
        "chrono takes a space for T; date-time does not",
    ),
    ("POST /v1/purchases", "amount", "100.0", "an integer to JSON Schema, a float to serde"),
    ("POST /v1/purchases", "redeem_points", "5.0", "an integer to JSON Schema, a float to serde"),
    ("POST /v1/refunds", "amount", "100.0", "an integer to JSON Schema, a float to serde"),
];

/// (field, value) probes of one request body, valid or not.
fn probes(field_values: &[(&str, Vec<Value>)]) -> Vec<(String, Value)> {
    field_values.iter().flat_map(|(f, vs)| vs.iter().map(move |v| (f.to_string(), v.clone()))).collect()
}

fn id_probes(max: usize, extra: &str) -> Vec<Value> {
    let mut out = vec![
        json!("a"),
        json!("x".repeat(max)),
        json!("x".repeat(max + 1)),
        json!(""),
        json!("a b"),
        json!("A-z_0.9+"),
        json!("кирилл"),
        json!(7),
        json!(null),
    ];
    out.extend(extra.chars().map(|c| json!(format!("a{c}b"))));
    out
}

#[tokio::test]
async fn the_request_schemas_accept_exactly_what_the_server_accepts() {
    let spec = spec();
    let t = TestApp::spawn().await;
    let mut mismatches_in_order: Vec<(String, String, String)> = Vec::new();
    let mut report = Vec::new();
    let mut judge = |op: &str, field: &str, value: &Value, schema_ok: bool, server_ok: bool, detail: String| {
        if schema_ok != server_ok {
            mismatches_in_order.push((op.to_owned(), field.to_owned(), value.to_string()));
            report.push(format!("{op} {field}={value}: schema {schema_ok}, server {server_ok}: {detail}"));
        }
    };
    let at = "2026-11-24T09:00:00+03:00";
    let times = vec![
        json!(at),
        json!("2026-11-24T06:00:00Z"),
        json!("2026-11-24T09:00:00.123+03:00"),
        json!("2026-11-24 09:00:00+03:00"),
        json!("2026-11-24T09:00:00"),
        json!("2026-11-24"),
        json!("24.11.2026 09:00"),
        json!(1764000000),
        json!(null),
    ];
    let amounts = vec![
        json!(1),
        json!(100_000_000_000i64),
        json!(0),
        json!(-1),
        json!(100_000_000_001i64),
        json!(12.5),
        json!(100.0),
        json!("100"),
        json!(null),
    ];

    // POST /v1/purchases: the business rules (422) come after the schema, so "not 400" is accepted.
    let schema = &spec.operation(PURCHASES, "POST")["requestBody"]["content"]["application/json"]["schema"];
    let fields = [
        ("receipt_id", id_probes(128, ":/")),
        ("customer_id", id_probes(64, ":/")),
        ("amount", amounts.clone()),
        ("currency", vec![json!("RUB"), json!("EUR"), json!("rub"), json!("RU"), json!("RUBL"), json!(643)]),
        ("occurred_at", times.clone()),
        ("store_id", id_probes(64, ":/")),
        (
            "redeem_points",
            vec![
                json!(0),
                json!(1),
                json!(100_000_000_000i64),
                json!(100_000_000_001i64),
                json!(-1),
                json!(1.5),
                json!(5.0),
                json!(null),
            ],
        ),
        ("discount", vec![json!(1)]),
    ];
    for (n, (field, value)) in probes(&fields).into_iter().enumerate() {
        let mut body = purchase(&format!("p{n}"), 10_000, 0, at);
        body[&field] = value.clone();
        let schema_ok = spec.validate(schema, &body, false).is_ok();
        let r = t.post(PURCHASES, body).await;
        judge("POST /v1/purchases", &field, &value, schema_ok, r.status != StatusCode::BAD_REQUEST, r.text);
    }
    for field in ["receipt_id", "customer_id", "amount", "currency", "occurred_at", "store_id", "redeem_points"] {
        let body = without(purchase("p-missing", 10_000, 0, at), field);
        let schema_ok = spec.validate(schema, &body, false).is_ok();
        let r = t.post(PURCHASES, body).await;
        judge(
            "POST /v1/purchases",
            field,
            &json!("(left out)"),
            schema_ok,
            r.status != StatusCode::BAD_REQUEST,
            r.text,
        );
    }

    // POST /v1/refunds, against a receipt of 1,000,000.00 so amounts are judged by shape only.
    assert_eq!(t.buy("big", "c1", 100_000_000, 0).await.status, StatusCode::CREATED);
    let schema = &spec.operation(REFUNDS, "POST")["requestBody"]["content"]["application/json"]["schema"];
    let fields = [
        ("refund_id", id_probes(128, ":/")),
        ("receipt_id", id_probes(128, ":/")),
        ("amount", amounts.clone()),
        ("occurred_at", times.clone()),
        ("reason", vec![json!("x")]),
    ];
    for (n, (field, value)) in probes(&fields).into_iter().enumerate() {
        let mut body = refund(&format!("q{n}"), "big", 1, at);
        body[&field] = value.clone();
        let schema_ok = spec.validate(schema, &body, false).is_ok();
        let r = t.post(REFUNDS, body).await;
        judge("POST /v1/refunds", &field, &value, schema_ok, r.status != StatusCode::BAD_REQUEST, r.text);
    }
    for field in ["refund_id", "receipt_id", "amount", "occurred_at"] {
        let body = without(refund("q-missing", "big", 1, at), field);
        let schema_ok = spec.validate(schema, &body, false).is_ok();
        let r = t.post(REFUNDS, body).await;
        judge("POST /v1/refunds", field, &json!("(left out)"), schema_ok, r.status != StatusCode::BAD_REQUEST, r.text);
    }

    // PUT /v1/customers/{customer_id}: success is 200 or 201.
    let schema = &spec.operation(CUSTOMER, "PUT")["requestBody"]["content"]["application/json"]["schema"];
    let fields = [
        (
            "phone",
            vec![
                json!("+79161234567"),
                json!("+12345678"),
                json!("+123456789012345"),
                json!("+1234567"),
                json!("+1234567890123456"),
                json!("89161234567"),
                json!("+09161234567"),
                json!("+7 916 123 45 67"),
                json!(79161234567i64),
                json!(null),
            ],
        ),
        (
            "email",
            vec![
                json!("anna@example.ru"),
                json!("a.b+c@mail.example.com"),
                json!("anna@localhost"),
                json!("a@b@example.ru"),
                json!("@example.ru"),
                json!("anna example@ex.ru"),
                json!("anna@ex..ru"),
                json!("anna"),
                json!(format!("{}@example.ru", "a".repeat(65))),
                json!(true),
                json!(null),
            ],
        ),
        (
            "name",
            vec![
                json!("Anna"),
                json!("Анна Петровна"),
                json!("x".repeat(100)),
                json!("x".repeat(101)),
                json!(""),
                json!("   "),
                json!("Anna\u{7}"),
                json!(5),
                json!(null),
            ],
        ),
        (
            "birthday",
            vec![
                json!("1990-02-28"),
                json!("1900-01-01"),
                json!("2026-11-24"),
                json!("1990-02-30"),
                json!("1990-13-01"),
                json!("01.02.1990"),
                json!("1990-2-3"),
                json!("2030-01-01"),
                json!("1899-12-31"),
                json!(19900228),
                json!(null),
            ],
        ),
        (
            "consent",
            vec![
                json!({}),
                json!({"email": true}),
                json!({"email": true, "sms": false}),
                json!({"email": null}),
                json!({"emails": true}),
                json!({"email": "yes"}),
                json!(true),
                json!(null),
            ],
        ),
        (
            "consent_renewed",
            vec![
                json!([]),
                json!(null),
                json!(["email"]),
                json!(["pigeon"]),
                json!(["email", "email"]),
                json!("email"),
                json!([true]),
            ],
        ),
        ("preferred_channel", vec![json!("email"), json!("sms"), json!("pigeon"), json!("EMAIL"), json!(null)]),
        ("locale", vec![json!("ru"), json!("en"), json!("de"), json!("RU"), json!(null)]),
        ("unknown", vec![json!(1)]),
    ];
    for (n, (field, value)) in probes(&fields).into_iter().enumerate() {
        let body = json!({ field.clone(): value.clone() });
        let schema_ok = spec.validate(schema, &body, false).is_ok();
        let r = t.put(&format!("/v1/customers/u{n}"), body).await;
        let server_ok = r.status == StatusCode::OK || r.status == StatusCode::CREATED;
        judge("PUT", &field, &value, schema_ok, server_ok, r.text);
    }

    // The customer_id path parameter (percent-decoded by the server).
    let param = spec.deref(&spec.doc["components"]["parameters"]["CustomerId"]);
    for (raw, decoded) in [
        ("card-1001", "card-1001"),
        ("A-z_0.9+", "A-z_0.9+"),
        ("a%20b", "a b"),
        ("a%2Fb", "a/b"),
        ("%D0%BA", "к"),
        ("a:b", "a:b"),
    ]
    .into_iter()
    .map(|(r, d)| (r.to_owned(), d.to_owned()))
    .chain([("x".repeat(64), "x".repeat(64)), ("x".repeat(65), "x".repeat(65))])
    {
        let schema_ok = spec.validate(&param["schema"], &json!(decoded), false).is_ok();
        let r = t.get(&format!("/v1/customers/{raw}")).await;
        judge(
            "GET /v1/customers/{customer_id}",
            "customer_id",
            &json!(decoded),
            schema_ok,
            r.status != StatusCode::BAD_REQUEST,
            r.text,
        );
    }

    // The report's query dates (admin key), each with the other one fixed to a valid date.
    let params = spec.operation(REPORTS, "GET")["parameters"].as_array().expect("parameters").clone();
    for (name, other) in [("from", "to=2026-11-24"), ("to", "from=2026-11-01")] {
        let param = params.iter().map(|p| spec.deref(p)).find(|p| p["name"] == name && p["in"] == "query");
        let param = param.unwrap_or_else(|| panic!("the query parameter {name} is documented"));
        for value in [
            "2026-11-05",
            "2026-11-5",
            "2026-02-29",
            "2026-13-01",
            "20261105",
            "05.11.2026",
            "",
            "2026-11-05T00:00:00",
            " 2026-11-05",
            "2026-11-5 ",
            " 2026-11-5",
            "+2026-11-5",
        ] {
            let schema_ok = spec.validate(&param["schema"], &json!(value), false).is_ok();
            let uri = format!("{REPORTS}?{name}={}&{other}", value.replace(' ', "%20").replace('+', "%2B"));
            let r = t.send(Method::GET, &uri, Some(&t.admin_key), None).await;
            let detail = format!("{} {}", r.status, r.text.chars().take(200).collect::<String>());
            judge("GET /v1/reports/triggers", name, &json!(value), schema_ok, r.status != StatusCode::BAD_REQUEST, detail);
        }
    }

    let mismatches: BTreeSet<(String, String, String)> = mismatches_in_order.iter().cloned().collect();
    let limits: BTreeSet<(String, String, String)> =
        SCHEMA_LIMITS.iter().map(|(op, f, v, _)| (op.to_string(), f.to_string(), v.to_string())).collect();
    let unexplained: Vec<&String> = report
        .iter()
        .zip(&mismatches_in_order)
        .filter(|(_, key)| !limits.contains(*key))
        .map(|(line, _)| line)
        .collect();
    assert!(
        unexplained.is_empty(),
        "the schema and the server disagree:\n{}",
        unexplained.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("\n")
    );
    for (op, field, value, why) in SCHEMA_LIMITS {
        assert!(
            mismatches.contains(&(op.to_string(), field.to_string(), value.to_string())),
            "{op} {field}={value} ({why}) no longer differs: tighten the schema and drop the limit"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Request examples
// ---------------------------------------------------------------------------------------------

/// (path, METHOD, example name, body) for every request example, in document order (which
/// the examples rely on: the refund example refunds the purchase example's receipt).
fn request_examples(spec: &Spec) -> Vec<(String, String, String, Value)> {
    let doc: serde_yaml::Value = serde_yaml::from_str(DOCUMENT).unwrap();
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_mapping().expect("paths") {
        let path = path.as_str().unwrap();
        for (m, op) in item.as_mapping().unwrap() {
            let m = m.as_str().unwrap().to_uppercase();
            if !METHODS.contains(&m.as_str()) {
                continue;
            }
            let body = serde_json::to_value(&op["requestBody"]).unwrap();
            let body = spec.deref(&body);
            for (media_type, media) in body["content"].as_object().into_iter().flatten() {
                let order: Vec<String> = op["requestBody"]["content"][media_type.as_str()]["examples"]
                    .as_mapping()
                    .into_iter()
                    .flatten()
                    .map(|(k, _)| k.as_str().unwrap().to_owned())
                    .collect();
                for name in order {
                    let value = spec.deref(&media["examples"][&name])["value"].clone();
                    out.push((path.to_owned(), m.clone(), name, value));
                }
            }
        }
    }
    out
}

/// A survey recorded for `customer_id`'s purchase today (as the sweep would), and its link's token.
async fn asked_survey_token(t: &TestApp, customer_id: &str) -> String {
    use boomerang_core::domain::survey::{token::Ticket, Survey};
    let id = CustomerId::parse(customer_id).unwrap();
    let now = boomerang_api::Clock::now(&t.clock);
    let receipt = format!("{customer_id}-surveyed");
    t.record_purchase(&receipt, customer_id, now, 150_000, 0).await;
    let today = t.app.today(now);
    let store = t.app.store();
    let receipts = store.receipts_of(&id, today, today).await.unwrap();
    let bought = receipts.iter().find(|r| r.receipt_id.as_str() == receipt).expect("the purchase");
    let survey = Survey::ask(bought, today, boomerang_core::domain::kinds::Locale::En, now);
    let record = store.customer(&id).await.unwrap().expect("the customer");
    let commit = boomerang_core::ports::RecordCommit {
        expected_version: record.version,
        record: boomerang_core::domain::customer::CustomerRecord { version: record.version + 1, ..record },
        entries: Vec::new(),
        recorded_at: now,
    };
    store.record_survey(&survey, &commit).await.unwrap();
    t.app.survey_token(&Ticket { key: survey.key, issued_on: today }).await.unwrap()
}

#[tokio::test]
async fn every_request_example_in_the_document_is_accepted_by_the_server() {
    let spec = spec();
    let t = TestApp::spawn().await;
    let customer_id = spec.doc["components"]["parameters"]["CustomerId"]["example"].as_str().expect("an example id");
    let token = t.app.unsubscribe_token(&CustomerId::parse(customer_id).unwrap()).await.unwrap();
    let examples = request_examples(&spec);
    let operations: BTreeSet<_> = examples.iter().map(|(p, m, _, _)| (p.clone(), m.clone())).collect();
    for (path, m) in spec.operations() {
        let takes_body = spec.operation(&path, &m).get("requestBody").is_some();
        assert_eq!(
            operations.contains(&(path.clone(), m.clone())),
            takes_body,
            "{m} {path}: an example per request body"
        );
    }
    for (path, m, name, body) in examples {
        let uri = path.replace("{customer_id}", customer_id);
        let uri = match path.as_str() {
            UNSUBSCRIBE => format!("{uri}?token={token}"),
            SURVEY => format!("{uri}?token={}", asked_survey_token(&t, customer_id).await),
            _ => uri,
        };
        let bytes = match &body {
            Value::String(text) => text.clone().into_bytes(),
            other => other.to_string().into_bytes(),
        };
        let key = (!OPEN_ROUTES.contains(&path.as_str())).then_some(t.key.as_str());
        let r = t.send(method(&m), &uri, key, Some(bytes)).await;
        let what = format!("{m} {path} example {name} → {}", r.status);
        assert!(r.status.is_success(), "{what}: {}", r.text);
        let response = spec.response(&path, &m, r.status.as_u16()).unwrap_or_else(|| panic!("{what}: not documented"));
        spec.check_answer(response, &r, &what);
        if let Some(schema) = spec.operation(&path, &m)["requestBody"]["content"]["application/json"].get("schema") {
            spec.validate(schema, &body, false)
                .unwrap_or_else(|e| panic!("{what}: the example breaks its schema: {e}"));
        }
    }
}
