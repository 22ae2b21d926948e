//! Static files (CSS, JS modules, icons), embedded in the binary and served
//! under `/assets/` with an ETag, so phones revalidate cheaply instead of
//! downloading again.

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
];

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

/// The asset routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/assets/{*path}", get(asset))
}
