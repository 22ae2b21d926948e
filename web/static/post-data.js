// What a post's phone keeps for working offline: its post, roster, supplies,
// open orders, the passes valid there with the key and revocation list, and
// the region list the screening form looks codes up in.
//
// - `syncPostData()` asks `GET /api/v1/me/post/offline` for everything the
//   first time, then for what changed since the stored cursor (`after=`),
//   and merges the answer into IndexedDB (db "shouwang-post", store
//   "sections", one record per section, the cursor beside them) in one
//   transaction: the cursor never runs ahead of the data. It resolves with
//   `{status, changed}`: `synced` (the sections that came), `no_post` (the
//   caller has no shift now: what is stored stays), `offline`,
//   `signed_out`, `storage_full` or `failed`. A cursor the server does not
//   know (a restored server), another post or another user on the phone
//   bring a full sync.
// - `section(name)` reads one stored section (`post`, `roster`, `supplies`,
//   `orders`, `passes`, `key`, `revocations`, `regions`).
// - `regionsMatching(q, limit)` searches the stored regions as the server's
//   picker does: digits match codes by prefix; words must all occur in the
//   full name, own-name matches first, then provinces, cities, counties.
//   It resolves with `[{code, name, full_name}]` (empty before a first sync).
// - `snapshotAge()` resolves with `{synced_ms, age_ms}` (phone clock, the
//   last answer stored) or null before a first sync.
const DB_NAME = "shouwang-post";
const STORE = "sections";
const META = "meta";
const URL = "/api/v1/me/post/offline";
const TIMEOUT_MS = 60_000;
const SECTIONS = ["post", "roster", "supplies", "orders", "passes", "key", "revocations", "regions"];

// ------------------------------------------------------------------ storage

let opening = null;

function db() {
  if (!opening) {
    opening = new Promise((resolve, reject) => {
      if (!("indexedDB" in globalThis)) {
        reject(new Error("no_storage"));
        return;
      }
      const req = indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(STORE);
      req.onsuccess = () => {
        const d = req.result;
        d.onversionchange = () => {
          d.close();
          opening = null;
        };
        resolve(d);
      };
      req.onerror = () => reject(req.error);
    }).catch((e) => {
      opening = null;
      throw e;
    });
  }
  return opening;
}

/** Runs `work(store)` in one transaction; resolves with its result once committed. */
async function transact(mode, work) {
  const d = await db();
  return new Promise((resolve, reject) => {
    const tx = mode === "readwrite" ? d.transaction(STORE, mode, { durability: "strict" }) : d.transaction(STORE, mode);
    let out;
    tx.oncomplete = () => resolve(out);
    tx.onabort = () => reject(tx.error || new Error("aborted"));
    try {
      out = work(tx.objectStore(STORE));
    } catch (e) {
      try { tx.abort(); } catch { /* already finished */ }
      reject(e);
    }
  });
}

function get(store, key) {
  const box = { value: undefined };
  store.get(key).onsuccess = (e) => { box.value = e.target.result; };
  return box;
}

async function readMeta() {
  return (await transact("readonly", (s) => get(s, META))).value || null;
}

/** Stores an answer: every section on a full one (absent ones cleared), the
 * sections it carries otherwise, and the cursor with them. */
async function store(answer, user) {
  await transact("readwrite", (s) => {
    if (answer.full) {
      for (const name of SECTIONS) if (!(name in answer)) s.delete(name);
    }
    for (const name of SECTIONS) if (name in answer) s.put(answer[name], name);
    s.put({ cursor: answer.cursor, post_id: answer.post_id, user, synced_ms: Date.now() }, META);
  });
  if ("regions" in answer) regionIndex = null;
}

// ------------------------------------------------------------------ sync

function signedInUser() {
  const n = Number(document.querySelector('meta[name="shouwang-user-id"]')?.content);
  return Number.isInteger(n) && n > 0 ? n : null;
}

async function fetchAnswer(after) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), TIMEOUT_MS);
  try {
    const res = await fetch(after ? `${URL}?after=${after}` : URL, {
      credentials: "same-origin",
      headers: { accept: "application/json" },
      cache: "no-store",
      signal: ctl.signal,
    });
    const body = await res.json().catch(() => null);
    return { status: res.status, body };
  } finally {
    clearTimeout(timer);
  }
}

let running = null;

/** Brings the stored snapshot up to date; one sync at a time. */
export function syncPostData() {
  if (!running) {
    running = syncOnce().finally(() => {
      running = null;
    });
  }
  return running;
}

async function syncOnce() {
  let meta;
  try {
    meta = await readMeta();
  } catch {
    return { status: "failed", changed: [] };
  }
  const user = signedInUser();
  const known = meta && (user === null || meta.user === user) ? meta : null;
  try {
    let { status, body } = await fetchAnswer(known?.cursor || 0);
    // A cursor of another server (restored from a backup): start again.
    if (status === 422 && body?.error?.field === "after") ({ status, body } = await fetchAnswer(0));
    if (status === 404) return { status: "no_post", changed: [] };
    if (status === 401) return { status: "signed_out", changed: [] };
    if (status !== 200 || !body) return { status: "failed", changed: [] };
    // Moved to another post since: what is stored is the old post's.
    if (!body.full && body.post_id !== known?.post_id) ({ status, body } = await fetchAnswer(0));
    if (status === 404) return { status: "no_post", changed: [] };
    if (status !== 200 || !body) return { status: "failed", changed: [] };
    await store(body, user ?? known?.user ?? null);
    return { status: "synced", changed: SECTIONS.filter((s) => s in body) };
  } catch (e) {
    if (e?.name === "QuotaExceededError") return { status: "storage_full", changed: [] };
    if (e?.name === "AbortError" || e instanceof TypeError) return { status: "offline", changed: [] };
    return { status: "failed", changed: [] };
  }
}

/** One stored section, or undefined. */
export async function section(name) {
  return (await transact("readonly", (s) => get(s, name))).value;
}

/** When the stored snapshot was last brought up to date, and how long ago. */
export async function snapshotAge() {
  const meta = await readMeta().catch(() => null);
  if (!meta) return null;
  return { synced_ms: meta.synced_ms, age_ms: Date.now() - meta.synced_ms };
}

// ------------------------------------------------------------------ regions

const LEVEL = { province: 0, city: 1, county: 2 };
let regionIndex = null;

/** The stored `[code, name]` pairs with full names and levels, built once. */
async function regions() {
  if (!regionIndex) {
    const pairs = (await section("regions")) || [];
    const names = new Map(pairs);
    // A city's code ends in 00 and has counties under it; one without (东莞市
    // 441900) is listed as a county-level area.
    const under = new Map();
    for (const [code] of pairs) under.set(code.slice(0, 4), (under.get(code.slice(0, 4)) || 0) + 1);
    regionIndex = pairs.map(([code, name]) => {
      const province = `${code.slice(0, 2)}0000`;
      const city = `${code.slice(0, 4)}00`;
      const isCity = code === city && under.get(code.slice(0, 4)) > 1;
      const level = code === province ? LEVEL.province : isCity ? LEVEL.city : LEVEL.county;
      const parts = [];
      if (level > LEVEL.province && names.has(province)) parts.push(names.get(province));
      // A county named as its city (嘉峪关市 620201) is not named twice.
      if (level > LEVEL.city && city !== code && names.has(city) && names.get(city) !== name) parts.push(names.get(city));
      parts.push(name);
      return { code, name, full_name: parts.join(" "), level };
    });
  }
  return regionIndex;
}

/** Regions for a picker, at most `limit`: by code prefix (digits) or by the
 * words of the name (`河南 卢氏`). */
export async function regionsMatching(q, limit = 20) {
  const terms = String(q || "").trim().split(/\s+/).filter(Boolean);
  if (!terms.length || limit < 1) return [];
  const all = await regions();
  const first = terms[0];
  const view = ({ code, name, full_name }) => ({ code, name, full_name });
  if (terms.length === 1 && /^\d+$/.test(first)) {
    return all.filter((r) => r.code.startsWith(first)).slice(0, limit).map(view);
  }
  const rank = (r) => (r.name === first ? 0 : r.name.startsWith(first) ? 1 : 2);
  return all
    .filter((r) => terms.every((t) => r.full_name.includes(t)))
    .map((r, i) => ({ r, key: [rank(r), r.level, i] }))
    .sort((a, b) => a.key[0] - b.key[0] || a.key[1] - b.key[1] || a.key[2] - b.key[2])
    .slice(0, limit)
    .map(({ r }) => view(r));
}
