//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 description of `/api/v1`, a document kept next to the handlers
//! (`openapi.json`) and compiled in. The tests below fail when the router and the document disagree.

use axum::http::header;
use axum::response::IntoResponse;

/// The document as served.
pub const DOCUMENT: &str = include_str!("openapi.json");

pub async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], DOCUMENT)
}

#[cfg(test)]
mod tests {
    use super::DOCUMENT;
    use std::collections::BTreeSet;

    const METHODS: [&str; 5] = ["get", "post", "patch", "put", "delete"];

    /// Every `/api/v1` (path, method) the router declares, read from the router's source: each
    /// `.route("/api/v1/…", get(…).post(…))` call up to the next `.route(`.
    fn router_operations() -> BTreeSet<(String, String)> {
        let src = include_str!("mod.rs");
        let mut out = BTreeSet::new();
        for chunk in src.split(".route(").skip(1) {
            let Some(path) = chunk.split('"').nth(1) else {
                continue;
            };
            if !path.starts_with("/api/v1/") {
                continue;
            }
            for m in METHODS {
                let called = [" ", ".", "::"]
                    .iter()
                    .any(|before| chunk.contains(&format!("{before}{m}(")));
                if called {
                    out.insert((path.to_string(), m.to_string()));
                }
            }
        }
        out
    }

    fn document_operations() -> BTreeSet<(String, String)> {
        let doc: serde_json::Value = serde_json::from_str(DOCUMENT).expect("openapi.json is JSON");
        let mut out = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for m in METHODS {
                if item.get(m).is_some() {
                    out.insert((path.clone(), m.to_string()));
                }
            }
        }
        out
    }

    #[test]
    fn the_document_describes_exactly_the_routes_of_the_router() {
        let router = router_operations();
        assert!(
            router.len() > 20,
            "the router's routes were not found: {router:?}"
        );
        let doc = document_operations();
        let missing: Vec<_> = router.difference(&doc).collect();
        let extra: Vec<_> = doc.difference(&router).collect();
        assert!(
            missing.is_empty(),
            "routes missing from openapi.json: {missing:?}"
        );
        assert!(
            extra.is_empty(),
            "openapi.json describes routes the router lacks: {extra:?}"
        );
    }

    #[test]
    fn every_reference_resolves_and_every_operation_names_its_scopes() {
        let doc: serde_json::Value = serde_json::from_str(DOCUMENT).expect("JSON");
        assert_eq!(doc["openapi"], "3.1.0");
        let text = DOCUMENT;
        for piece in text.split("\"$ref\": \"#/components/schemas/").skip(1) {
            let name = piece.split('"').next().unwrap_or_default();
            assert!(
                doc["components"]["schemas"].get(name).is_some(),
                "unresolved $ref {name}"
            );
        }
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (m, op) in item.as_object().expect("path item") {
                let desc = op["description"].as_str().unwrap_or_default();
                assert!(
                    path.ends_with("openapi.json") || desc.contains("Scopes: "),
                    "{m} {path} does not name its scopes"
                );
            }
        }
    }
}
