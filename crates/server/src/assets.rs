//! Static files (CSS, JS modules, icons), embedded in the binary and served
//! under `/assets/` with an ETag, so phones revalidate cheaply instead of
//! downloading again.
//!
//! Two more make the field pages an installable app: the web manifest at
//! `/manifest.webmanifest`, and the service worker at `/sw.js` (at the root,
//! so that its scope is the whole site). The worker is served with the
//! build's [`app_version`] (a hash of every asset) and the lists of what it
//! keeps written into it: a new build is a new worker, which the phone
//! installs in the background and offers as "new version — reload".

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

use crate::state::AppState;

/// Every asset: path under `/assets/`, content type, bytes.
const ASSETS: &[(&str, &str, &[u8])] = &[
    ("app.css", "text/css; charset=utf-8", include_bytes!("../../../web/static/app.css")),
    ("live.js", "text/javascript; charset=utf-8", include_bytes!("../../../web/static/live.js")),
    ("call.js", "text/javascript; charset=utf-8", include_bytes!("../../../web/static/call.js")),
    ("board.js", "text/javascript; charset=utf-8", include_bytes!("../../../web/static/board.js")),
    ("post.js", "text/javascript; charset=utf-8", include_bytes!("../../../web/static/post.js")),
    ("screen.js", "text/javascript; charset=utf-8", include_bytes!("../../../web/static/screen.js")),
    ("ids.js", "text/javascript; charset=utf-8", include_bytes!("../../../web/static/ids.js")),
    ("locate.js", "text/javascript; charset=utf-8", include_bytes!("../../../web/static/locate.js")),
    ("orders.js", "text/javascript; charset=utf-8", include_bytes!("../../../web/static/orders.js")),
    ("resumption.js", "text/javascript; charset=utf-8", include_bytes!("../../../web/static/resumption.js")),
    ("pass.css", "text/css; charset=utf-8", include_bytes!("../../../web/static/pass.css")),
    ("pass-verify.js", "text/javascript; charset=utf-8", include_bytes!("../../../web/static/pass-verify.js")),
    ("icon.svg", "image/svg+xml", include_bytes!("../../../web/static/icon.svg")),
    ("outbox.js", "text/javascript; charset=utf-8", include_bytes!("../../../web/static/outbox.js")),
    ("outbox-status.js", "text/javascript; charset=utf-8", include_bytes!("../../../web/static/outbox-status.js")),
    ("signed-out.js", "text/javascript; charset=utf-8", include_bytes!("../../../web/static/signed-out.js")),
    ("logged.js", "text/javascript; charset=utf-8", include_bytes!("../../../web/static/logged.js")),
    ("visit.js", "text/javascript; charset=utf-8", include_bytes!("../../../web/static/visit.js")),
    ("post-data.js", "text/javascript; charset=utf-8", include_bytes!("../../../web/static/post-data.js")),
];

/// The service worker's source; `__VERSION__`, `__SHELL__`, `__PAGES__` and
/// `__NOT_KEPT__` are filled in when served.
const SERVICE_WORKER: &str = include_str!("../../../web/static/sw.js");

/// The web manifest: name, icon, and `/my-post` as the start page.
const MANIFEST: &[u8] = include_bytes!("../../../web/static/manifest.webmanifest");

/// The assets the field pages load, which the service worker keeps for use
/// offline (those of them that exist).
const SHELL: &[&str] = &[
    "app.css",
    "icon.svg",
    "ids.js",
    "live.js",
    "call.js",
    "locate.js",
    "post.js",
    "orders.js",
    "screen.js",
    "pass.css",
    "pass-verify.js",
    "resumption.js",
    "outbox.js",
    "outbox-status.js",
    "logged.js",
    "visit.js",
    "post-data.js",
];

/// The officer's pages the service worker keeps, network first.
const PAGES: &[&str] = &["/my-post", "/screen", "/passes/verify"];

/// The build's version as far as the browser can tell: a hash of every
/// asset, the manifest and the worker itself.
pub fn app_version() -> &'static str {
    &VERSION
}

static VERSION: LazyLock<String> = LazyLock::new(|| {
    let mut h = Sha256::new();
    for (path, _, bytes) in ASSETS {
        h.update(path.as_bytes());
        h.update(bytes);
    }
    h.update(MANIFEST);
    h.update(SERVICE_WORKER.as_bytes());
    h.update(NOT_KEPT.as_bytes());
    hex::encode(h.finalize())[..16].to_owned()
});

/// What a page not kept yet says offline, in every language (one worker
/// serves every visitor, whatever their language), as a JSON list.
static NOT_KEPT: LazyLock<String> = LazyLock::new(|| {
    let i18n = crate::i18n::I18n::load();
    let texts: Vec<String> =
        crate::i18n::Lang::ALL.iter().map(|l| i18n.text(*l, "outbox-page-not-kept", &[])).collect();
    serde_json::Value::from(texts).to_string()
});

static WORKER: LazyLock<String> = LazyLock::new(|| {
    let shell: Vec<String> =
        SHELL.iter().filter(|s| ASSETS.iter().any(|(p, _, _)| p == *s)).map(|s| format!("/assets/{s}")).collect();
    SERVICE_WORKER
        .replace("__VERSION__", &VERSION)
        .replace("__NOT_KEPT__", &NOT_KEPT)
        .replace("__SHELL__", &serde_json::Value::from(shell).to_string())
        .replace("__PAGES__", &serde_json::Value::from(PAGES.to_vec()).to_string())
});

static ETAGS: LazyLock<Vec<String>> = LazyLock::new(|| {
    ASSETS.iter().map(|(_, _, bytes)| format!("\"{}\"", &hex::encode(Sha256::digest(bytes))[..16])).collect()
});

async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    let Some(i) = ASSETS.iter().position(|(p, _, _)| *p == path) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let (_, content_type, bytes) = ASSETS[i];
    let etag = ETAGS[i].as_str();
    let cache = [(header::ETAG, etag), (header::CACHE_CONTROL, "no-cache")];
    if headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(etag) {
        return (StatusCode::NOT_MODIFIED, cache).into_response();
    }
    (cache, [(header::CONTENT_TYPE, content_type)], bytes).into_response()
}

/// Answers `body` with an ETag (`etag`), or 304 when the browser has it.
fn revalidated(headers: &HeaderMap, etag: &str, content_type: &'static str, body: Vec<u8>) -> Response {
    let cache = [(header::ETAG, etag), (header::CACHE_CONTROL, "no-cache")];
    if headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(etag) {
        return (StatusCode::NOT_MODIFIED, cache).into_response();
    }
    (cache, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// The service worker of this build.
async fn service_worker(headers: HeaderMap) -> Response {
    let etag = format!("\"sw-{}\"", app_version());
    revalidated(&headers, &etag, "text/javascript; charset=utf-8", WORKER.as_bytes().to_vec())
}

/// The web manifest.
async fn manifest(headers: HeaderMap) -> Response {
    let etag = format!("\"mf-{}\"", app_version());
    revalidated(&headers, &etag, "application/manifest+json", MANIFEST.to_vec())
}

/// The asset routes, the manifest and the service worker.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/assets/{*path}", get(asset))
        .route("/sw.js", get(service_worker))
        .route("/manifest.webmanifest", get(manifest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_service_worker_is_served_with_the_builds_version_and_lists() {
        assert!(!WORKER.contains("__VERSION__") && !WORKER.contains("__SHELL__") && !WORKER.contains("__PAGES__"));
        assert!(!WORKER.contains("__NOT_KEPT__") && WORKER.contains("此页尚未保存在本机"));
        assert!(WORKER.contains(&format!("const VERSION = \"{}\";", app_version())), "{}", &WORKER[..400]);
        assert!(WORKER.contains("\"/assets/outbox.js\"") && WORKER.contains("\"/my-post\""));
        assert_eq!(app_version().len(), 16);
    }

    #[test]
    fn the_shell_lists_only_assets_that_exist_and_every_field_page_module() {
        for field in ["outbox.js", "outbox-status.js", "screen.js", "post.js", "orders.js", "app.css"] {
            assert!(SHELL.contains(&field), "{field} is not kept for offline use");
            assert!(ASSETS.iter().any(|(p, _, _)| *p == field), "{field} is not an asset");
        }
    }

    #[test]
    fn the_manifest_starts_at_my_post_standalone() {
        let m: serde_json::Value = serde_json::from_slice(MANIFEST).expect("the manifest is JSON");
        assert_eq!(m["start_url"], "/my-post");
        assert_eq!(m["display"], "standalone");
        assert_eq!(m["name"], "守望 Shouwang");
        assert_eq!(m["icons"][0]["src"], "/assets/icon.svg");
    }
}
