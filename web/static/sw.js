// The service worker of the field app, served at /sw.js (scope "/").
//
// - The app shell (the CSS and the JS modules of the field pages) is kept in
//   a cache named after the build: the server writes a hash of every asset
//   into VERSION, so a new build is a new worker, installed in the
//   background and offered to the officer as "new version — reload".
// - The officer's pages open with no network: a navigation to one of PAGES
//   goes to the network first (at most 4 s), and a good answer is kept; when
//   the network fails or is slow, the kept copy is shown.
// - Nothing else is touched: API requests (the outbox's sync among them)
//   and every other page go to the network as if there were no worker.
const VERSION = "__VERSION__";
const SHELL = __SHELL__;
const PAGES = __PAGES__;
/** What a page not kept yet says offline, in Chinese and in English. */
const NOT_KEPT = __NOT_KEPT__;
const SHELL_CACHE = `shouwang-shell-${VERSION}`;
const PAGE_CACHE = `shouwang-pages-${VERSION}`;
const NETWORK_WAIT_MS = 4000;

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(SHELL_CACHE).then((cache) => cache.addAll(SHELL.map((u) => new Request(u, { cache: "reload" })))),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      const names = await caches.keys();
      const mine = [SHELL_CACHE, PAGE_CACHE];
      // An earlier build's pages are kept until this build has its own.
      const oldPages = names.filter((n) => n.startsWith("shouwang-pages-") && n !== PAGE_CACHE);
      if (oldPages.length) {
        const fresh = await caches.open(PAGE_CACHE);
        for (const name of oldPages) {
          const old = await caches.open(name);
          for (const req of await old.keys()) {
            if (!(await fresh.match(req))) await fresh.put(req, await old.match(req));
          }
        }
      }
      await Promise.all(names.filter((n) => n.startsWith("shouwang-") && !mine.includes(n)).map((n) => caches.delete(n)));
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("message", (event) => {
  const type = event.data?.type;
  if (type === "skip-waiting") self.skipWaiting();
  else if (type === "warm") event.waitUntil(warm());
});

/** Keeps what is not kept yet: the shell, and the officer's pages. */
async function warm() {
  const shell = await caches.open(SHELL_CACHE);
  for (const url of SHELL) {
    if (!(await shell.match(url, { ignoreVary: true }))) await shell.add(new Request(url, { cache: "reload" })).catch(() => {});
  }
  const pages = await caches.open(PAGE_CACHE);
  for (const path of PAGES) {
    if (await pages.match(path, { ignoreVary: true })) continue;
    try {
      const res = await fetch(path, { credentials: "same-origin", redirect: "manual", headers: { accept: "text/html" } });
      if (keepable(res)) await pages.put(path, res);
    } catch { /* offline: next time */ }
  }
}

/** A page worth keeping: a plain 200 HTML answer (not a redirect to the
 * sign-in page, not an error page). */
function keepable(res) {
  return res && res.status === 200 && res.type === "basic" && !res.redirected
    && (res.headers.get("content-type") || "").startsWith("text/html");
}

self.addEventListener("fetch", (event) => {
  const req = event.request;
  if (req.method !== "GET") return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin || url.pathname.startsWith("/api/")) return;
  if (SHELL.includes(url.pathname)) {
    event.respondWith(shellFirst(req, url.pathname));
  } else if (req.mode === "navigate" && PAGES.includes(url.pathname)) {
    event.respondWith(networkFirst(event, req, url.pathname));
  }
});

/** The shell from its cache (it is of this build), else the network. */
async function shellFirst(req, path) {
  const cache = await caches.open(SHELL_CACHE);
  const kept = await cache.match(path, { ignoreVary: true });
  if (kept) return kept;
  const res = await fetch(req);
  if (res.ok) cache.put(path, res.clone()).catch(() => {});
  return res;
}

/** The page from the network when it answers within NETWORK_WAIT_MS (and
 * kept for next time), else the kept copy, else whatever the network gives. */
async function networkFirst(event, req, path) {
  const cache = await caches.open(PAGE_CACHE);
  const network = fetch(req).then(async (res) => {
    if (keepable(res)) await cache.put(path, res.clone());
    return res;
  });
  // The answer may come after the kept copy was shown: keep it anyway.
  event.waitUntil(network.catch(() => {}));
  const late = new Promise((resolve) => setTimeout(() => resolve(null), NETWORK_WAIT_MS));
  const first = await Promise.race([network.then((res) => (res.status >= 500 ? null : res), () => null), late]);
  if (first) return first;
  const kept = await cache.match(path, { ignoreVary: true });
  if (kept) return kept;
  try {
    return await network;
  } catch {
    return offlinePage();
  }
}

function offlinePage() {
  const says = NOT_KEPT.map((t) => `<p>${t.replace(/[<>&]/g, "")}</p>`).join("");
  const html = `<!doctype html><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>守望 Shouwang</title><link rel="stylesheet" href="/assets/app.css">
<main class="main"><section class="card"><h1>守望 Shouwang</h1>${says}
<p><a href="/my-post">/my-post</a> · <a href="/screen">/screen</a></p></section></main>`;
  return new Response(html, { status: 503, headers: { "content-type": "text/html; charset=utf-8" } });
}
