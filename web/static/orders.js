// Orders and roll calls in the browser.
//
// - Parts of a page marked `data-refresh-on="order."` are fetched again and
//   swapped in when an event of that kind arrives on the live stream (the
//   phone's list, an order's receipts, the board's roll calls): the server
//   renders them, this only keeps them current.
// - On the phone, an order shown is reported read, and acknowledging (or
//   answering a roll call "present") sends where the phone is.
// - On the board, "roll call" starts one for the ticked posts, or for every
//   staffed post when none is ticked; in a post's panel, for that post.
import { uuidv7 } from "./ids.js";
import { sendWithPosition } from "./locate.js";

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

async function refresh(id) {
  const url = new URL(location.href);
  url.searchParams.delete("done");
  const res = await fetch(url, { headers: { accept: "text/html" } });
  if (!res.ok) return;
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
    note.textContent = data.error?.message || document.querySelector("[data-failed]")?.dataset.failed || "✗";
  }
}

function enhance(root) {
  for (const input of root.querySelectorAll("input[type=file][data-upload-into]")) {
    input.addEventListener("change", () => upload(input));
  }
  for (const li of root.querySelectorAll("[data-order-unread]")) {
    li.removeAttribute("data-order-unread");
    api("POST", `/api/v1/orders/${li.dataset.orderId}/read`);
  }
  // An acknowledgement goes with where the phone is (waiting at most 8 s).
  for (const form of root.querySelectorAll("form[data-locate]")) {
    const button = form.querySelector("button[type=submit]");
    sendWithPosition(form, { waitMs: 8000, waiting: (on) => button?.toggleAttribute("disabled", on) });
  }
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
