// The field outbox: every write made at a post (a screening, a check-in, a
// consumption, a roll-call answer, a household visit …) is stored on the
// phone first and sent to the server when the network allows.
//
// - `enqueue({method, path, body, label, kind})` stores the request in
//   IndexedDB (db "shouwang", store "outbox") with a `seq` that only grows,
//   the device time and who entered it. It resolves once the write is
//   committed to disk: from then on the record is "done" for the officer,
//   whatever the network does. It rejects with an `OutboxError` whose `code`
//   says why (`storage_full`, `no_storage`, `sign_in_again`); the page keeps
//   the form as typed and shows the message.
// - `flush()` sends what is pending, oldest first, to `POST /api/v1/sync` in
//   chunks (≤ 500 entries, ~256 KB, one post per request), gzipped where the
//   browser can, with a 30 s timeout, one tab at a time (Web Locks). Each
//   result is applied as it says: stored → removed; refused → kept in "needs
//   attention" with the server's message; not processed → sent again later.
//   A network error, a timeout or a server fault waits (full jitter,
//   1 s · 2^n, at most 5 min) and tries again; so do coming online, the page
//   becoming visible, a page load and every enqueue. Every record keeps its
//   client id, so a resend after a lost answer stores nothing twice.
// - An entry that cannot be read back (damaged, missing fields) goes to
//   "needs attention" with an explanation; it never blocks the others and
//   is never dropped without the officer choosing to.
// - `onStatus(fn)` tells widgets the pending count, the attention list, the
//   last sync and the last failure (as a code; the widget has the words).
//   Tabs tell each other through a BroadcastChannel.
import { uuidv7 } from "./ids.js";

const DB_NAME = "shouwang";
const STORE = "outbox";
const META = "meta";
const CHUNK_ENTRIES = 500;
const CHUNK_BYTES = 256 * 1024;
const TIMEOUT_MS = 30_000;
const BACKOFF_BASE_MS = 1_000;
const BACKOFF_CAP_MS = 300_000;
/// How often, at most, a page asks the server whether the session still holds.
const CONTACT_EVERY_MS = 60_000;

/** Why an entry could not be stored; `code` picks the words. */
export class OutboxError extends Error {
  constructor(code, detail = "") {
    super(detail ? `${code}: ${detail}` : code);
    this.name = "OutboxError";
    this.code = code;
  }
}

// ------------------------------------------------------------------ storage

let opening = null;

/** The database with both stores, created or upgraded as needed. Another
 * module may keep stores of its own in the same database: the version is
 * bumped only when one of ours is missing. */
function db() {
  if (!opening) {
    opening = openWithStores().catch((e) => {
      opening = null;
      throw e;
    });
  }
  return opening;
}

function openRaw(version) {
  return new Promise((resolve, reject) => {
    if (!("indexedDB" in globalThis)) {
      reject(new OutboxError("no_storage"));
      return;
    }
    const req = version ? indexedDB.open(DB_NAME, version) : indexedDB.open(DB_NAME);
    req.onupgradeneeded = () => {
      const d = req.result;
      if (!d.objectStoreNames.contains(STORE)) d.createObjectStore(STORE, { keyPath: "id" }).createIndex("seq", "seq");
      if (!d.objectStoreNames.contains(META)) d.createObjectStore(META);
    };
    req.onsuccess = () => {
      const d = req.result;
      // Another tab or module upgrading: let it, and open again next time.
      d.onversionchange = () => {
        d.close();
        opening = null;
      };
      resolve(d);
    };
    req.onerror = () => reject(req.error?.name === "QuotaExceededError" ? new OutboxError("storage_full") : req.error);
    req.onblocked = () => {}; // waits for the other tab to close its connection
  });
}

async function openWithStores() {
  const d = await openRaw();
  if (d.objectStoreNames.contains(STORE) && d.objectStoreNames.contains(META)) return d;
  const version = d.version + 1;
  d.close();
  return openRaw(version);
}

/** Runs `work(tx)` in one transaction; resolves with what `work` returned
 * once the transaction has committed (to disk, for writes). */
async function transact(stores, mode, work) {
  const d = await db();
  return new Promise((resolve, reject) => {
    let tx;
    try {
      tx = mode === "readwrite" ? d.transaction(stores, mode, { durability: "strict" }) : d.transaction(stores, mode);
    } catch (e) {
      reject(e);
      return;
    }
    let out;
    tx.oncomplete = () => resolve(out);
    tx.onabort = () => {
      const e = tx.error;
      reject(e?.name === "QuotaExceededError" ? new OutboxError("storage_full") : e || new OutboxError("aborted"));
    };
    try {
      out = work(tx);
    } catch (e) {
      try { tx.abort(); } catch { /* already finished */ }
      reject(e);
    }
  });
}

/** A request's result, filled in when it succeeds (read after commit). */
function result(req) {
  const box = { value: undefined };
  req.onsuccess = () => { box.value = req.result; };
  return box;
}

async function allEntries() {
  const box = await transact([STORE], "readonly", (tx) => result(tx.objectStore(STORE).index("seq").getAll()));
  return box.value || [];
}

async function readMeta() {
  const box = await transact([META], "readonly", (tx) => {
    const store = tx.objectStore(META);
    const out = {};
    for (const key of ["last_sync_us", "last_contact_us", "failure", "signed_out", "skew_us"]) {
      const r = store.get(key);
      r.onsuccess = () => { out[key] = r.result; };
    }
    return out;
  });
  return box;
}

async function writeMeta(values) {
  await transact([META], "readwrite", (tx) => {
    const store = tx.objectStore(META);
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined) store.delete(k);
      else store.put(v, k);
    }
  });
}

// ------------------------------------------------------------------ the page

function meta(name) {
  return document.querySelector(`meta[name="${name}"]`)?.content || "";
}

function csrfToken() {
  return meta("csrf-token");
}

/** The signed-in user, from the layout. */
function userId() {
  const n = Number(meta("shouwang-user-id"));
  return Number.isInteger(n) && n > 0 ? n : null;
}

/** The post a request is about: named, in its path, or the page's. */
function postOf(path, given) {
  if (Number.isInteger(given)) return given;
  const m = /^\/api\/v1\/checkpoints\/(\d+)\//.exec(path);
  if (m) return Number(m[1]);
  const page = Number(document.getElementById("outbox")?.dataset.postId);
  return Number.isInteger(page) && page > 0 ? page : null;
}

/** Hours an officer may work offline after the last contact with the server. */
function offlineHours() {
  const h = Number(document.getElementById("outbox")?.dataset.offlineHours);
  return Number.isFinite(h) && h > 0 ? h : 72;
}

// ------------------------------------------------------------------ status

const events = new EventTarget();
const channel = "BroadcastChannel" in globalThis ? new BroadcastChannel("shouwang-outbox") : null;
let sending = false;
let lastStatus = null;

/** Calls `fn(status)` now and after every change. */
export function onStatus(fn) {
  events.addEventListener("status", (e) => fn(e.detail));
  if (lastStatus) fn(lastStatus);
  else announce();
}

/** Calls `fn({id, kind, status, body})` for each record the server stored
 * (and `fn({id, kind, refused: true, error})` for each it refused). */
export function onResult(fn) {
  events.addEventListener("result", (e) => fn(e.detail));
}

channel?.addEventListener("message", (e) => {
  if (e.data?.type === "result") events.dispatchEvent(new CustomEvent("result", { detail: e.data.detail }));
  announce();
});

function tellOthers(message = { type: "changed" }) {
  try { channel?.postMessage(message); } catch { /* closed */ }
}

function resultOut(detail) {
  events.dispatchEvent(new CustomEvent("result", { detail }));
  tellOthers({ type: "result", detail });
}

let announcing = null;
let announceAgain = false;
/** Reads the outbox and tells the listeners. */
function announce() {
  if (announcing) {
    announceAgain = true;
    return announcing;
  }
  announcing = (async () => {
    try {
      const [entries, m] = await Promise.all([allEntries(), readMeta()]);
      const lastContact = m.last_contact_us || null;
      const status = {
        pending: entries.filter((e) => e.state !== "attention").length,
        attention: entries.filter((e) => e.state === "attention"),
        entries,
        lastSyncUs: m.last_sync_us || null,
        lastContactUs: lastContact,
        failure: m.failure || null,
        signedOut: Boolean(m.signed_out),
        skewUs: m.skew_us || 0,
        sending,
        expired: isExpired(lastContact),
        offlineHours: offlineHours(),
      };
      lastStatus = status;
      events.dispatchEvent(new CustomEvent("status", { detail: status }));
      return status;
    } catch (e) {
      const status = { ...(lastStatus || { pending: 0, attention: [], entries: [] }), failure: { code: "no_storage", message: String(e) } };
      events.dispatchEvent(new CustomEvent("status", { detail: status }));
      return status;
    } finally {
      announcing = null;
      if (announceAgain) {
        announceAgain = false;
        announce();
      }
    }
  })();
  return announcing;
}

/** Reads the outbox again and tells the listeners (after the network came or went). */
export function refreshStatus() {
  return announce();
}

function isExpired(lastContactUs) {
  if (!lastContactUs) return false;
  return Date.now() * 1000 - lastContactUs > offlineHours() * 3600e6;
}

// ------------------------------------------------------------------ enqueue

/** Stores one write; resolves with the entry once it is on disk. */
export async function enqueue({ method = "POST", path, body = {}, label = "", kind = "", post_id, entered_us } = {}) {
  if (!["POST", "PUT", "PATCH"].includes(method)) throw new TypeError(`outbox: method ${method}`);
  if (typeof path !== "string" || !path.startsWith("/api/v1/") || path.startsWith("/api/v1/sync")) {
    throw new TypeError(`outbox: path ${path}`);
  }
  const m = await readMeta().catch((e) => { throw e instanceof OutboxError ? e : new OutboxError("no_storage", String(e)); });
  if (isExpired(m.last_contact_us)) throw new OutboxError("sign_in_again");
  const id = body && typeof body.id === "string" && body.id ? body.id : uuidv7();
  const entry = {
    id,
    method,
    path,
    body,
    label: String(label || ""),
    kind: String(kind || ""),
    post_id: postOf(path, post_id),
    entered_us: Number.isFinite(entered_us) ? entered_us : Date.now() * 1000,
    entered_by: userId(),
    state: "pending",
  };
  try {
    await transact([STORE, META], "readwrite", (tx) => {
      const metaStore = tx.objectStore(META);
      const seq = metaStore.get("seq");
      seq.onsuccess = () => {
        entry.seq = (Number(seq.result) || 0) + 1;
        metaStore.put(entry.seq, "seq");
        const add = tx.objectStore(STORE).add(entry);
        // The same record twice (a double tap, a migration run again): it
        // is in the outbox already, which is what was asked.
        add.onerror = (e) => {
          if (add.error?.name === "ConstraintError") e.preventDefault();
        };
      };
    });
  } catch (e) {
    if (e instanceof OutboxError) throw e;
    if (e?.name === "QuotaExceededError") throw new OutboxError("storage_full");
    throw new OutboxError("no_storage", String(e?.message || e));
  }
  tellOthers();
  announce();
  queueMicrotask(() => flush());
  return entry;
}

/** Every entry, oldest first (for pages that show what is still on the phone). */
export async function entries() {
  return allEntries();
}

/** Sends a refused entry again, with `body` changed where the officer
 * corrected it. */
export async function resend(id, body) {
  await transact([STORE], "readwrite", (tx) => {
    const store = tx.objectStore(STORE);
    const r = store.get(id);
    r.onsuccess = () => {
      const e = r.result;
      if (!e) return;
      e.state = "pending";
      delete e.error;
      if (body !== undefined) e.body = body;
      store.put(e);
    };
  });
  tellOthers();
  await announce();
  attempt = 0;
  return flush();
}

/** Removes an entry for good (the officer chose to). */
export async function discard(id) {
  await transact([STORE], "readwrite", (tx) => tx.objectStore(STORE).delete(id));
  tellOthers();
  return announce();
}

// ------------------------------------------------------------------ sending

/** What is wrong with a stored entry, or "" when it can be sent. */
function damage(e) {
  if (!e || typeof e !== "object") return "not a record";
  if (typeof e.id !== "string" || !/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i.test(e.id)) {
    return "id";
  }
  if (!["POST", "PUT", "PATCH"].includes(e.method)) return "method";
  if (typeof e.path !== "string" || !e.path.startsWith("/api/v1/") || e.path.startsWith("/api/v1/sync")) return "path";
  if (e.body !== null && typeof e.body !== "object") return "body";
  if (!Number.isFinite(e.entered_us) || e.entered_us <= 0) return "entered_us";
  if (!Number.isFinite(e.seq)) return "seq";
  try { JSON.stringify(e.body); } catch { return "body"; }
  return "";
}

/** The entry as the sync route takes it. */
function wire(e) {
  const out = { id: e.id, method: e.method, path: e.path, body: e.body ?? {}, entered_us: Math.round(e.entered_us) };
  if (Number.isInteger(e.entered_by)) out.entered_by = e.entered_by;
  return out;
}

/** A leading run of `pending` for one post, within the request limits. */
function chunkOf(pending, maxEntries) {
  const post = pending[0].post_id ?? null;
  const chunk = [];
  let bytes = 0;
  for (const e of pending) {
    if ((e.post_id ?? null) !== post || chunk.length >= maxEntries) break;
    const size = JSON.stringify(wire(e)).length;
    if (chunk.length > 0 && bytes + size > CHUNK_BYTES) break;
    chunk.push(e);
    bytes += size;
  }
  return { post, chunk };
}

async function gzip(text) {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Response(stream).arrayBuffer();
}

let useGzip = "CompressionStream" in globalThis;
let maxEntries = CHUNK_ENTRIES;

/** One request; what came back, or why nothing did. */
async function post(envelope) {
  const json = JSON.stringify(envelope);
  const headers = { "content-type": "application/json", accept: "application/json", "x-csrf-token": csrfToken() };
  let body = json;
  if (useGzip) {
    try {
      body = await gzip(json);
      headers["content-encoding"] = "gzip";
    } catch {
      body = json;
    }
  }
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), TIMEOUT_MS);
  try {
    const res = await fetch("/api/v1/sync", {
      method: "POST", headers, body, signal: abort.signal, credentials: "same-origin", cache: "no-store",
    });
    const data = await res.json().catch(() => null);
    return { res, data, gzipped: Boolean(headers["content-encoding"]) };
  } catch {
    return { lost: abort.signal.aborted ? "timeout" : "offline" };
  } finally {
    clearTimeout(timer);
  }
}

// Answers that mean "the server has this already": a resend of a request
// that carries no id of its own (an acknowledgement, a check-out, a receipt).
const ALREADY = {
  ack: (s, c) => s === 409 && c === "already_acknowledged",
  roll_call: (s, c) => s === 409 && c === "already_acknowledged",
  report: (s, c) => s === 409 && c === "already_acknowledged",
  check_out: (s, c) => s === 422 && c === "not_checked_in",
  receipt: (s, c) => s === 422 && c === "invalid_transition",
};

function refused(status) {
  return status >= 400 && status < 500 && ![401, 408, 429].includes(status);
}

let timer = 0;
let attempt = 0;
let flushing = null;
let again = false;

function schedule(minMs = 0) {
  clearTimeout(timer);
  const jitter = Math.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt);
  attempt = Math.min(attempt + 1, 20);
  timer = setTimeout(() => flush(), Math.max(minMs, jitter));
}

async function fail(failure, retryMs) {
  await writeMeta({ failure: { ...failure, at_us: Date.now() * 1000 } }).catch(() => {});
  if (retryMs !== null) schedule(retryMs);
}

/** Sends what is pending; resolves when this round is over. */
export function flush() {
  if (flushing) {
    again = true;
    return flushing;
  }
  flushing = (async () => {
    try {
      do {
        again = false;
        await exclusively(sendAll);
      } while (again);
    } catch (e) {
      await fail({ code: "no_storage", message: String(e?.message || e) }, 0);
    } finally {
      flushing = null;
      sending = false;
      announce();
    }
  })();
  return flushing;
}

/** One tab sends at a time; the others try again shortly. */
async function exclusively(work) {
  if (!navigator.locks?.request) return work();
  return navigator.locks.request("shouwang-outbox", { ifAvailable: true }, async (lock) => {
    if (!lock) {
      clearTimeout(timer);
      timer = setTimeout(() => flush(), 3000);
      return undefined;
    }
    return work();
  });
}

/** Moves damaged entries to "needs attention"; the rest, oldest first. */
async function sendable() {
  const all = await allEntries();
  const broken = [];
  const pending = [];
  for (const e of all) {
    if (e?.state === "attention") continue;
    const why = damage(e);
    if (why) broken.push({ e, why });
    else pending.push(e);
  }
  if (broken.length) {
    await transact([STORE], "readwrite", (tx) => {
      const store = tx.objectStore(STORE);
      for (const { e, why } of broken) {
        const kept = e && typeof e === "object" ? e : { value: e };
        kept.state = "attention";
        kept.error = { code: "damaged", detail: why };
        if (kept.id === undefined || kept.id === null) continue; // no key: cannot be written back
        store.put(kept);
      }
    });
    tellOthers();
  }
  return pending;
}

async function sendAll() {
  clearTimeout(timer);
  for (let round = 0; round < 1000; round++) {
    const pending = await sendable();
    if (pending.length === 0) {
      attempt = 0;
      await writeMeta({ failure: undefined });
      return;
    }
    if (navigator.onLine === false) {
      await fail({ code: "offline" }, null); // the `online` event sends
      return;
    }
    sending = true;
    announce();
    const { post: postId, chunk } = chunkOf(pending, maxEntries);
    const next = await sendChunk(postId, chunk);
    if (next !== "more") return;
  }
}

/** Sends one chunk and applies the answer: "more" when the next may go now. */
async function sendChunk(postId, chunk, retried = {}) {
  const envelope = { post_id: postId, sent_us: Date.now() * 1000, entries: chunk.map(wire) };
  const { res, data, lost, gzipped } = await post(envelope);
  if (lost) {
    await fail({ code: lost }, 0);
    return "stop";
  }
  const error = data?.error || {};
  if (res.status === 401) {
    await writeMeta({ signed_out: true, failure: { code: "signed_out", at_us: Date.now() * 1000 } });
    return "stop"; // until the officer signs in again (page load, online, visible)
  }
  if (!res.ok) {
    if (gzipped && (res.status === 415 || (res.status === 400 && !error.field))) {
      useGzip = false; // a server (or a proxy) that cannot read it compressed
      return "more";
    }
    if (res.status === 413 && maxEntries > 1) {
      maxEntries = Math.max(1, Math.floor(chunk.length / 2));
      return "more";
    }
    if (res.status === 403 && error.code === "csrf" && !retried.csrf) {
      if (await freshToken()) return sendChunk(postId, chunk, { ...retried, csrf: true });
    }
    // One entry the server cannot even take in (the envelope names it): it
    // alone waits for the officer; the others go on.
    const at = /^entries\[(\d+)\]\.?(\w*)/.exec(error.field || "");
    const named = at ? chunk[Number(at[1])] : null;
    if (named && res.status === 422) {
      await transact([STORE], "readwrite", (tx) => {
        const store = tx.objectStore(STORE);
        // Who entered it is unknown to the server (an account removed):
        // delivered as the caller's.
        if (at[2] === "entered_by") store.put({ ...named, entered_by: null });
        else store.put({ ...named, state: "attention", error: { status: 422, ...error } });
      });
      tellOthers();
      if (at[2] !== "entered_by") resultOut({ id: named.id, kind: named.kind, path: named.path, refused: true, error });
      return "more";
    }
    // The post named for the request is no longer the officer's: deliver
    // the records anyway; each route checks its own.
    if (postId !== null && ([403, 404].includes(res.status) || error.field === "post_id")) {
      if (!retried.post) return sendChunk(null, chunk, { ...retried, post: true });
    }
    const retryAfter = Number(res.headers.get("retry-after")) * 1000 || 0;
    const code = res.status >= 500 || [408, 429].includes(res.status) ? "server" : "envelope";
    await fail({ code, status: res.status, message: error.message || "" }, retryAfter);
    return "stop";
  }
  return apply(chunk, data);
}

/** Applies a 200 answer; "more" when everything sent was processed. */
async function apply(chunk, data) {
  const results = Array.isArray(data?.results) ? data.results : [];
  const synced = [];
  const attention = [];
  let retry = null;
  let signedOut = false;
  for (let i = 0; i < results.length && i < chunk.length; i++) {
    const r = results[i] || {};
    const e = chunk[i];
    if (r.id !== e.id) {
      retry = { code: "server", status: 0, message: "answer out of order" };
      break;
    }
    const status = Number(r.status) || 0;
    if (status >= 200 && status < 300) {
      synced.push({ e, r });
    } else if (refused(status)) {
      if (ALREADY[e.kind]?.(status, r.error?.code)) synced.push({ e, r });
      else attention.push({ e, r });
    } else if (status === 401) {
      signedOut = true;
      break;
    } else {
      retry = { code: "server", status, message: r.error?.message || "" };
      break;
    }
  }
  const now = Date.now() * 1000;
  await transact([STORE, META], "readwrite", (tx) => {
    const store = tx.objectStore(STORE);
    for (const { e } of synced) store.delete(e.id);
    for (const { e, r } of attention) {
      store.put({ ...e, state: "attention", error: { status: Number(r.status), ...(r.error || {}) } });
    }
    const m = tx.objectStore(META);
    m.put(now, "last_contact_us");
    if (synced.length || attention.length) m.put(now, "last_sync_us");
    if (Number.isFinite(data?.skew_us)) m.put(data.skew_us, "skew_us");
    m.put(signedOut, "signed_out");
  });
  tellOthers();
  for (const { e, r } of synced) resultOut({ id: e.id, kind: e.kind, path: e.path, status: r.status, body: r.body });
  for (const { e, r } of attention) resultOut({ id: e.id, kind: e.kind, path: e.path, refused: true, error: r.error });
  if (signedOut) {
    await writeMeta({ failure: { code: "signed_out", at_us: now } });
    return "stop";
  }
  const stopped = data?.stopped;
  if (stopped && stopped.status === 401) {
    await writeMeta({ signed_out: true, failure: { code: "signed_out", at_us: now } });
    return "stop";
  }
  if (retry || stopped || results.length < chunk.length) {
    const why = retry || { code: "server", status: stopped?.status || 0, message: stopped?.message || "" };
    // Progress was made: the rest goes again soon, not after a long wait.
    if (synced.length || attention.length) attempt = 0;
    await fail(why, 0);
    return "stop";
  }
  attempt = 0;
  return "more";
}

/** A fresh CSRF token from the server (the session changed in another tab). */
async function freshToken() {
  try {
    const res = await fetch(location.pathname, { headers: { accept: "text/html" }, credentials: "same-origin", cache: "no-store" });
    if (!res.ok) return false;
    const doc = new DOMParser().parseFromString(await res.text(), "text/html");
    const token = doc.querySelector('meta[name="csrf-token"]')?.content;
    const mine = document.querySelector('meta[name="csrf-token"]');
    if (!token || !mine) return false;
    mine.content = token;
    return true;
  } catch {
    return false;
  }
}

// ------------------------------------------------------------------ contact

let lastContactTry = 0;

/** Asks the server whether the session still holds (when nothing is waiting
 * to be sent, which would tell the same): the offline allowance counts from
 * the last answer. */
export async function contact() {
  if (Date.now() - lastContactTry < CONTACT_EVERY_MS || navigator.onLine === false) return;
  lastContactTry = Date.now();
  try {
    const res = await fetch("/api/v1/me", { headers: { accept: "application/json" }, credentials: "same-origin", cache: "no-store" });
    if (res.ok) await writeMeta({ last_contact_us: Date.now() * 1000, signed_out: false });
    else if (res.status === 401) await writeMeta({ signed_out: true });
    tellOthers();
    announce();
  } catch { /* offline: nothing learned */ }
}

// ------------------------------------------------------------------ triggers

function wake() {
  attempt = 0;
  contact();
  flush();
}

// Only pages that show the outbox (the field pages) send from it.
if (typeof document !== "undefined" && document.getElementById("outbox")) {
  window.addEventListener("online", wake);
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") wake(); });
  // A page load: whatever earlier pages left behind goes now.
  setTimeout(wake, 0);
}
