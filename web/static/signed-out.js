// The sign-in page: whoever used this phone before has signed out (or their
// session ended), so the officer's pages kept for offline use are forgotten.
// The outbox is kept: its records still go at the next sign-in.
if ("caches" in globalThis) {
  caches.keys().then((names) => Promise.all(names.filter((n) => n.startsWith("shouwang-pages")).map((n) => caches.delete(n))))
    .catch(() => {});
}
