// Orders and roll calls in the browser.
//
// - Parts of a page marked `data-refresh-on="order."` are fetched again and
//   swapped in when an event of that kind arrives on the live stream (the
//   phone's list, an order's receipts, the board's roll calls): the server
//   renders them, this only keeps them current.
// - On the phone, an order shown is reported read, and acknowledging (or
//   answering a roll call "present") sends where the phone is. The answer
//   and a completion report go into the outbox (outbox.js): done on the
//   phone at once, sent when the network allows. A photo is uploaded when
//   picked, which needs the network; the answer does not wait for it.
// - On the board, "roll call" starts one for the ticked posts, or for every
//   staffed post when none is ticked; in a post's panel, for that post.
import { uuidv7 } from "./ids.js";
import { position, sendWithPosition } from "./locate.js";

const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";

async function api(method, url, body) {
  const res = await fetch(url, {
    method,
    headers: { "content-type": "application/json", accept: "application/json", "x-csrf-token": csrf },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await res.json().catch(() => ({}));
  return { ok: res.ok, status: res.status, data };
}

// ---------------------------------------------------------------- refresh

const pending = new Map();
/** The phone's side with the outbox, once set up (below). */
let phone = null;

async function refresh(id) {
  const url = new URL(location.href);
  url.searchParams.delete("done");
  const res = await fetch(url, { headers: { accept: "text/html" } }).catch(() => null);
  if (!res?.ok || res.redirected) return;
  const doc = new DOMParser().parseFromString(await res.text(), "text/html");
  const fresh = doc.getElementById(id);
  const old = document.getElementById(id);
  if (!fresh || !old) return;
  // A form being typed into is not swapped away under the user's fingers,
  // nor one holding a file just picked (its upload would be lost).
  if (old.contains(document.activeElement) && document.activeElement.matches("input, textarea, select")) return;
  if ([...old.querySelectorAll("input[type=file]")].some((i) => i.files.length > 0)) return;
  const before = old.querySelectorAll("[data-roll-call-due]").length;
  old.replaceWith(fresh);
  enhance(fresh);
  if (phone) phone.replay();
  if (fresh.querySelectorAll("[data-roll-call-due]").length > before) navigator.vibrate?.([300, 100, 300]);
}

document.addEventListener("shouwang:event", (e) => {
  const event = e.detail;
  for (const el of document.querySelectorAll("[data-refresh-on]")) {
    if (!event.kind.startsWith(el.dataset.refreshOn)) continue;
    const me = el.dataset.me;
    if (me && event.payload?.user !== undefined && String(event.payload.user) !== me) continue;
    const id = el.id;
    clearTimeout(pending.get(id));
    pending.set(id, setTimeout(() => refresh(id), 250));
  }
});

// ---------------------------------------------------------------- phone

// A file picked for an order or an answer is sent at once, before the form:
// the form then carries only its id (a resend of the same id stores nothing
// twice). A refusal (too large, not a photo or PDF) shows beside the input.
async function upload(input) {
  const form = input.form;
  const hidden = form.querySelector(`input[name="${input.dataset.uploadInto}"]`);
  let note = input.parentElement.querySelector(".upload-note");
  if (!note) {
    note = document.createElement("span");
    note.className = "upload-note";
    note.setAttribute("aria-live", "polite");
    input.after(note);
  }
  hidden.value = "";
  note.className = "upload-note muted";
  const file = input.files[0];
  note.textContent = file ? "…" : "";
  if (!file) return;
  const buttons = form.querySelectorAll("button[type=submit]");
  buttons.forEach((b) => b.setAttribute("disabled", ""));
  const url = `/api/v1/attachments?id=${uuidv7()}&name=${encodeURIComponent(file.name)}`;
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": file.type || "application/octet-stream", accept: "application/json", "x-csrf-token": csrf },
    body: file,
  }).catch(() => null);
  buttons.forEach((b) => b.removeAttribute("disabled"));
  const data = res ? await res.json().catch(() => ({})) : {};
  if (res?.ok) {
    hidden.value = data.id;
    note.textContent = `✓ ${data.name}`;
  } else {
    input.value = "";
    note.className = "upload-note field-error";
    // No network: the photo cannot go, the answer still can (without it).
    const offline = !res && phone ? phone.texts.photo_online : "";
    note.textContent = offline || data.error?.message || document.querySelector("[data-failed]")?.dataset.failed || "✗";
  }
}

function enhance(root) {
  for (const input of root.querySelectorAll("input[type=file][data-upload-into]")) {
    input.addEventListener("change", () => upload(input));
  }
  for (const li of root.querySelectorAll("[data-order-unread]")) {
    li.removeAttribute("data-order-unread");
    api("POST", `/api/v1/orders/${li.dataset.orderId}/read`).catch(() => {});
  }
  // An acknowledgement goes with where the phone is (waiting at most 8 s);
  // on a page with the outbox, through it (below).
  if (phone) return;
  for (const form of root.querySelectorAll("form[data-locate]")) {
    const button = form.querySelector("button[type=submit]");
    sendWithPosition(form, { waitMs: 8000, waiting: (on) => button?.toggleAttribute("disabled", on) });
  }
}

// ---------------------------------------------------------------- outbox

/** The phone's side with the outbox (a page showing `#outbox`): answers and
 * reports become API requests in the outbox, shown answered at once. */
if (document.getElementById("outbox") && document.getElementById("my-orders")) phone = await phoneSide();

async function phoneSide() {
  const { enqueue, entries, onResult } = await import("./outbox.js");
  const logged = await import("./logged.js");
  const { texts } = logged;
  const log = document.getElementById("mp-log");
  const kinds = texts.kinds || {};

  /** An order's line shown answered, before the server knows. */
  function answered(li, state) {
    if (!li) return;
    li.dataset.state = state;
    li.removeAttribute("data-roll-call-due");
    li.removeAttribute("data-order-unread");
    li.classList.remove("ord-due");
    li.querySelector("form.ord-ack, form.ord-report")?.remove();
    const badge = li.querySelector("[class*='badge receipt-']");
    if (badge) {
      badge.className = `badge receipt-${state}`;
      badge.textContent = `✓ ${texts.saved}`;
    }
  }

  async function replay() {
    for (const e of await entries().catch(() => [])) {
      if (e.state === "attention" || !logged.mine(e)) continue;
      const m = /^\/api\/v1\/orders\/([^/]+)\/(acknowledge|report)$/.exec(e.path);
      if (!m) continue;
      const li = document.querySelector(`#my-orders li[data-order-id="${CSS.escape(decodeURIComponent(m[1]))}"]`);
      if (m[2] === "acknowledge" && li?.dataset.state !== "reported") answered(li, "acknowledged");
      if (m[2] === "report") answered(li, "reported");
    }
  }

  let busy = false;
  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!form.matches?.("#my-orders form.ord-ack, #my-orders form.ord-report")) return;
    event.preventDefault();
    if (busy) return;
    busy = true;
    const li = form.closest("li[data-order-id]");
    const order = li.dataset.orderId;
    const title = li.querySelector(".ord-title")?.textContent.trim() || "";
    const buttons = [...form.querySelectorAll("button[type=submit]")];
    buttons.forEach((b) => { b.disabled = true; });
    logged.clearProblems(form);
    try {
      const photo = form.elements.photo_id?.value.trim() || null;
      let request;
      if (form.matches(".ord-ack")) {
        const rollCall = li.dataset.kind === "roll_call";
        const body = { version: Number(form.elements.version.value) };
        const pos = await position(8000);
        if (pos) Object.assign(body, pos);
        if (photo) body.photo_id = photo;
        const kind = rollCall ? "roll_call" : "ack";
        request = { path: `/api/v1/orders/${encodeURIComponent(order)}/acknowledge`, body, kind,
                    label: rollCall ? `${kinds.roll_call} · ${title}` : `${kinds.ack}: ${title}` };
      } else {
        const report = form.elements.report.value.trim();
        if (!report) {
          logged.problem(form, texts.errors?.required || "?", form.elements.report);
          return;
        }
        const body = { report };
        if (photo) body.photo_id = photo;
        request = { path: `/api/v1/orders/${encodeURIComponent(order)}/report`, body, kind: "report",
                    label: `${kinds.report}: ${title}` };
      }
      const entry = await enqueue(request);
      logged.logLine(log, entry, request.label);
      answered(li, request.kind === "report" ? "reported" : "acknowledged");
    } catch (e) {
      logged.enqueueProblem(form, e);
    } finally {
      busy = false;
      buttons.forEach((b) => { b.disabled = false; });
    }
  });

  // Once the server has an answer, the list shows it as the server has it.
  onResult((r) => {
    if (!["ack", "roll_call", "report"].includes(r.kind)) return;
    clearTimeout(pending.get("my-orders"));
    pending.set("my-orders", setTimeout(() => refresh("my-orders"), 300));
  });

  replay();
  return { texts, replay };
}

enhance(document);

// ---------------------------------------------------------------- board

document.addEventListener("click", async (e) => {
  const button = e.target.closest("[data-roll-call]");
  if (!button) return;
  const ticked = [...document.querySelectorAll("input[data-inspect]:checked")].map((i) => Number(i.value));
  const staffed = [...document.querySelectorAll("#board-table tr[data-post-id]")]
    .filter((row) => Number(row.querySelector("[data-field=present]")?.dataset.value) > 0)
    .map((row) => Number(row.dataset.postId));
  // The button of a post's panel calls that post; the board's, the ticked
  // posts or else every staffed one.
  const own = button.dataset.rollCallPost ? [Number(button.dataset.rollCallPost)] : null;
  const checkpoints = own || (ticked.length ? ticked : staffed);
  if (!checkpoints.length) {
    alert(button.dataset.none);
    return;
  }
  button.disabled = true;
  const { ok, data } = await api("POST", "/api/v1/orders", {
    id: uuidv7(),
    kind: "roll_call",
    priority: "urgent",
    targets: { checkpoints },
  });
  button.disabled = false;
  if (!ok) alert(data.error?.message || button.dataset.failed);
  else refresh("roll-calls");
});
