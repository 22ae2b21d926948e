// The outbox's status on a field page (the `#outbox` box of the layout):
// "N waiting to send · last sync HH:MM · why the last try failed", a
// prompt to sign in again when the server no longer knows the session or the
// offline allowance is spent, a warning when the phone's clock is far off,
// and the records the server refused ("needs attention"), each with the
// server's message, Resend (after a correction) and Discard.
//
// It also installs the app for offline use: registers the service worker
// (`/sw.js`), has it keep the officer's pages, offers "new version — reload"
// when a new build is waiting, and forgets the kept pages on signing out.
import { onStatus, refreshStatus, resend, discard } from "./outbox.js";
import { syncPostData } from "./post-data.js";

const box = document.getElementById("outbox");
const texts = JSON.parse(box?.dataset.texts || "{}");
const offsetHours = Number(document.documentElement.dataset.utcOffset || 8);

/** `texts[key]` with `{name}` filled from `args`. */
function say(key, args = {}) {
  let s = texts[key] ?? key;
  for (const [k, v] of Object.entries(args)) s = s.replaceAll(`{${k}}`, String(v));
  return s;
}

/** HH:MM of `us` in the deployment's display zone. */
function clock(us) {
  const d = new Date(us / 1000 + offsetHours * 3600 * 1000);
  return d.toISOString().slice(11, 16);
}

/** What a failure code means, in words. */
export function failureText(f, pending) {
  if (!f) return "";
  switch (f.code) {
    case "offline": return say("offline");
    case "timeout": return say("timeout");
    case "server": return say("server", { status: f.status || "", message: f.message || "" });
    case "envelope": return say("envelope", { status: f.status || "", message: f.message || "" });
    case "signed_out": return say("signed_out", { count: pending });
    case "no_storage": return say("no_storage");
    default: return f.message || f.code || "";
  }
}

/** The words for an error thrown by `enqueue` (shown by the page, beside its form). */
export function enqueueErrorText(e) {
  const code = e?.code || "no_storage";
  return texts[code] ? say(code) : say("no_storage");
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

/** The field the server named, if the officer can correct it here: a plain
 * top-level value of the body. */
function correctable(entry) {
  const field = entry.error?.field;
  const body = entry.body;
  if (!field || !body || typeof body !== "object" || !(field in body)) return null;
  const v = body[field];
  return typeof v === "string" || typeof v === "number" ? field : null;
}

function attentionItem(entry) {
  const li = el("li", { "data-id": String(entry.id), class: "outbox-item" });
  const when = Number.isFinite(entry.entered_us) ? clock(entry.entered_us) : "";
  li.append(el("strong", { text: entry.label || texts.kinds?.[entry.kind] || entry.kind || entry.path || "?" }));
  if (when) li.append(" ", el("span", { class: "muted", text: when }));
  const error = entry.error || {};
  const message = error.code === "damaged" ? say("damaged", { detail: error.detail || "" }) : error.message || error.code || "";
  li.append(el("p", { class: "field-error", "data-testid": "outbox-message", text: message }));
  const field = correctable(entry);
  let input = null;
  if (field) {
    const id = `outbox-fix-${entry.id}`;
    input = el("input", { id, value: String(entry.body[field]), autocomplete: "off" });
    li.append(el("label", { for: id, text: say("fix") }), input);
  }
  const actions = el("div", { class: "outbox-actions" });
  const again = el("button", { type: "button", class: "secondary", "data-action": "resend", text: say("resend") });
  const drop = el("button", { type: "button", class: "link", "data-action": "discard", text: say("discard") });
  if (error.code === "damaged") again.disabled = true;
  again.addEventListener("click", () => {
    again.disabled = true;
    let body;
    if (input) {
      const old = entry.body[field];
      const typed = input.value.trim();
      body = { ...entry.body, [field]: typeof old === "number" && /^-?\d+(\.\d+)?$/.test(typed) ? Number(typed) : typed };
    }
    resend(entry.id, body).catch(() => { again.disabled = false; });
  });
  drop.addEventListener("click", () => {
    if (!confirm(say("discard_confirm"))) return;
    discard(entry.id);
  });
  actions.append(again, " ", drop);
  li.append(actions);
  return li;
}

function render(s) {
  box.hidden = false;
  box.querySelector("[data-testid=outbox-pending]").textContent = String(s.pending);
  box.dataset.pending = String(s.pending);
  box.dataset.sending = s.sending ? "1" : "";
  box.querySelector("[data-testid=outbox-last-sync]").textContent = s.lastSyncUs ? clock(s.lastSyncUs) : say("never");
  const failure = box.querySelector("[data-testid=outbox-failure]");
  let why = s.pending > 0 && s.failure ? failureText(s.failure, s.pending) : "";
  if (navigator.onLine === false) why = `${say("offline")} ${say("photo_online")}`;
  if (s.sending && !why) why = say("sending");
  failure.hidden = !why;
  failure.textContent = why ? `· ${why}` : "";
  box.classList.toggle("outbox-failing", Boolean(s.failure) && s.pending > 0);

  const signIn = box.querySelector("[data-testid=outbox-sign-in]");
  const link = signIn.querySelector("a");
  link.href = `/login?next=${encodeURIComponent(location.pathname)}`;
  const needed = s.expired || s.signedOut;
  signIn.hidden = !needed;
  signIn.querySelector("span").textContent = s.expired
    ? say("expired", { hours: s.offlineHours, count: s.pending })
    : s.signedOut ? say("signed_out", { count: s.pending }) : "";
  document.documentElement.toggleAttribute("data-outbox-closed", Boolean(s.expired));

  const clockWarn = box.querySelector("[data-testid=outbox-clock]");
  const minutes = Math.round(Math.abs(s.skewUs || 0) / 60e6);
  clockWarn.hidden = minutes < 10;
  clockWarn.textContent = minutes >= 10 ? say("clock", { minutes }) : "";

  const list = box.querySelector("[data-testid=outbox-attention]");
  const wrap = box.querySelector(".outbox-attention");
  wrap.hidden = s.attention.length === 0;
  // Items being corrected are left as they are.
  const shown = new Map([...list.children].map((li) => [li.dataset.id, li]));
  const wanted = new Set(s.attention.map((e) => String(e.id)));
  for (const [id, li] of shown) if (!wanted.has(id)) li.remove();
  for (const entry of s.attention) {
    const id = String(entry.id);
    const old = shown.get(id);
    if (old && old.contains(document.activeElement)) continue;
    const fresh = attentionItem(entry);
    if (old) old.replaceWith(fresh);
    else list.append(fresh);
  }
}

if (box) {
  onStatus(render);
  window.addEventListener("online", refreshStatus);
  window.addEventListener("offline", refreshStatus);
  // The post's own data for offline use (roster, supplies, passes, regions),
  // brought up to date from the event cursor whenever the network is there.
  if (box.dataset.postId) {
    const keepFresh = () => { if (navigator.onLine !== false) syncPostData().catch(() => {}); };
    keepFresh();
    window.addEventListener("online", keepFresh);
    setInterval(keepFresh, 5 * 60_000);
  }
}

// ------------------------------------------------------------ the app

const PAGE_CACHES = "shouwang-pages";

/** Forgets the pages kept for offline use (they hold names and orders). */
async function forgetPages() {
  if (!("caches" in globalThis)) return;
  const names = await caches.keys();
  await Promise.all(names.filter((n) => n.startsWith(PAGE_CACHES)).map((n) => caches.delete(n)));
}

// Signing out forgets the kept pages first; the outbox itself is kept (its
// records are still delivered at the next sign-in).
const logout = document.querySelector('form[action="/logout"]');
logout?.addEventListener("submit", (e) => {
  e.preventDefault();
  const go = () => logout.submit();
  Promise.race([forgetPages(), new Promise((r) => setTimeout(r, 1500))]).then(go, go);
});

function offerUpdate(worker) {
  const wrap = box?.querySelector(".outbox-update");
  if (!wrap) return;
  wrap.hidden = false;
  box.hidden = false;
  wrap.querySelector("button").onclick = () => {
    updating = true;
    worker.postMessage({ type: "skip-waiting" });
  };
}

let updating = false;
if (box && "serviceWorker" in navigator) {
  navigator.serviceWorker.addEventListener("controllerchange", () => {
    if (updating) location.reload();
  });
  navigator.serviceWorker
    .register("/sw.js", { scope: "/", updateViaCache: "none" })
    .then((reg) => {
      const watch = (worker) => {
        if (!worker) return;
        const check = () => {
          if (worker.state === "installed" && navigator.serviceWorker.controller) offerUpdate(worker);
        };
        check();
        worker.addEventListener("statechange", check);
      };
      watch(reg.waiting);
      watch(reg.installing);
      reg.addEventListener("updatefound", () => watch(reg.installing));
      navigator.serviceWorker.ready.then((r) => r.active?.postMessage({ type: "warm" }));
      document.addEventListener("visibilitychange", () => {
        if (document.visibilityState === "visible") reg.update().catch(() => {});
      });
    })
    .catch(() => { /* no service worker (http on a LAN address): online only */ });
}
