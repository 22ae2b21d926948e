//! The officer's page weight: what a phone transfers the first time it opens
//! a field page, compressed as the server sends it.
//!
//! For each page it fetches, as a browser with an empty cache would, the
//! page itself, every stylesheet, script, icon and manifest the page names,
//! and every module those scripts import (recursively), each with
//! `Accept-Encoding: gzip`, and adds up the bytes on the wire (bodies as
//! sent; headers are left out). Then it adds what installing the app costs on
//! that first visit: the service worker `/sw.js` and the app shell it keeps
//! (its `SHELL` list), and the other officer pages it keeps (`PAGES`).
//! The target is 150 KB for the first load.

use std::collections::BTreeSet;

use anyhow::Context;

/// One page's first load.
#[derive(Debug, Clone)]
pub struct Weight {
    /// The page, e.g. `/screen`.
    pub page: String,
    /// The page and what it loads: (compressed, uncompressed) bytes.
    pub page_bytes: (u64, u64),
    /// Files in it.
    pub files: usize,
    /// Installing the app on the same visit: the worker, its shell and the
    /// other pages it keeps (files not already counted), compressed.
    pub install_bytes: u64,
}

/// Bytes of one file: (on the wire with gzip, uncompressed).
async fn fetch(http: &reqwest::Client, base: &str, path: &str) -> anyhow::Result<(u64, u64, String)> {
    let url = format!("{base}{path}");
    let res = http.get(&url).header("accept-encoding", "gzip").header("accept", "text/html,*/*").send().await?;
    anyhow::ensure!(res.status().is_success(), "GET {path}: {}", res.status());
    let gz = res.headers().get("content-encoding").is_some_and(|v| v == "gzip");
    let wire = res.bytes().await?;
    let plain = if gz {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&wire[..]), &mut out)
            .with_context(|| format!("gunzip {path}"))?;
        out
    } else {
        wire.to_vec()
    };
    Ok((wire.len() as u64, plain.len() as u64, String::from_utf8_lossy(&plain).into_owned()))
}

/// Values of `attr="…"` in tags that start with `tag`.
fn attrs(html: &str, tag: &str, attr: &str) -> Vec<String> {
    let mut out = Vec::new();
    for piece in html.split(tag).skip(1) {
        let Some(end) = piece.find('>') else { continue };
        let head = &piece[..end];
        if tag == "<link" && !["stylesheet", "icon", "manifest", "modulepreload"].iter().any(|r| head.contains(r)) {
            continue;
        }
        let key = format!("{attr}=\"");
        if let Some(start) = head.find(&key) {
            let rest = &head[start + key.len()..];
            if let Some(stop) = rest.find('"') {
                out.push(rest[..stop].to_owned());
            }
        }
    }
    out
}

/// Module paths a script imports: `from "./x.js"`, `import("./x.js")`.
fn imports(js: &str, at: &str) -> Vec<String> {
    let dir = at.rsplit_once('/').map_or("", |(d, _)| d);
    let mut out = Vec::new();
    for quote in ['"', '\''] {
        for marker in [format!("from {quote}"), format!("import({quote}"), format!("import {quote}")] {
            for piece in js.split(marker.as_str()).skip(1) {
                if let Some(stop) = piece.find(quote) {
                    let spec = &piece[..stop];
                    if let Some(rel) = spec.strip_prefix("./") {
                        out.push(format!("{dir}/{rel}"));
                    } else if spec.starts_with('/') {
                        out.push(spec.to_owned());
                    }
                }
            }
        }
    }
    out
}

/// A JSON array of strings after `const NAME =` in the served worker.
fn list_in(sw: &str, name: &str) -> Vec<String> {
    let marker = format!("const {name} = ");
    let Some(start) = sw.find(&marker) else { return vec![] };
    let rest = &sw[start + marker.len()..];
    let Some(end) = rest.find(';') else { return vec![] };
    serde_json::from_str(&rest[..end]).unwrap_or_default()
}

/// The first load of `page` for a signed-in officer (`http` carries the
/// session cookie).
pub async fn measure(http: &reqwest::Client, base: &str, page: &str) -> anyhow::Result<Weight> {
    let mut seen = BTreeSet::new();
    let (mut wire, mut plain) = (0, 0);
    let (w, p, html) = fetch(http, base, page).await?;
    (wire, plain) = (wire + w, plain + p);
    seen.insert(page.to_owned());
    let mut todo: Vec<String> = attrs(&html, "<link", "href");
    todo.extend(attrs(&html, "<script", "src"));
    while let Some(path) = todo.pop() {
        if !path.starts_with('/') || !seen.insert(path.clone()) {
            continue;
        }
        let (w, p, text) = fetch(http, base, &path).await?;
        (wire, plain) = (wire + w, plain + p);
        if path.ends_with(".js") {
            todo.extend(imports(&text, &path));
        }
    }
    let files = seen.len();
    // Installing the app: the worker, then what it keeps.
    let mut install = 0;
    if seen.insert("/sw.js".to_owned()) {
        let (w, _, sw) = fetch(http, base, "/sw.js").await?;
        install += w;
        for path in list_in(&sw, "SHELL").into_iter().chain(list_in(&sw, "PAGES")) {
            if seen.insert(path.clone()) {
                install += fetch(http, base, &path).await?.0;
            }
        }
    }
    Ok(Weight { page: page.to_owned(), page_bytes: (wire, plain), files, install_bytes: install })
}

/// The markdown table.
pub fn print(weights: &[Weight]) {
    println!("\n### Officer page weight, first load (compressed on the wire)\n");
    println!(
        "| page | files | page + what it loads, gzip | uncompressed | + installing the app (worker, shell, other pages) | total | target |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for w in weights {
        let kb = |b: u64| b as f64 / 1024.0;
        println!(
            "| `{}` | {} | {:.1} KB | {:.1} KB | {:.1} KB | {:.1} KB | ≤ 150 KB |",
            w.page,
            w.files,
            kb(w.page_bytes.0),
            kb(w.page_bytes.1),
            kb(w.install_bytes),
            kb(w.page_bytes.0 + w.install_bytes)
        );
    }
}
