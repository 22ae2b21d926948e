// The officer's phone page (/my-post): every form marked `data-outbox` —
// check-in (with where the phone is), check-out, an incident, consumption,
// a resupply request, a receipt, the living-conditions check — becomes the
// API's JSON and goes into the outbox. The page shows it done at once (in
// "just entered"), whatever the network does; once the server has stored it,
// the sections it changes are fetched again from the server.
//
// Without JavaScript each form posts to its page route as it is.
import { enqueue, entries, onResult } from "./outbox.js";
import { position } from "./locate.js";
import { uuidv7 } from "./ids.js";
import {
  texts, hhmm, logLine, followLines, clearProblems, problem, enqueueProblem, wholeNumber, chosenLabel, mine,
} from "./logged.js";

const log = document.getElementById("mp-log");
const duty = document.getElementById("duty");
const kinds = texts.kinds || {};
const errors = texts.errors || {};

/** `form`'s field `name` (`form.elements.item` would be a method). */
function f(form, name) {
  return form.elements.namedItem(name);
}

/** The number in `form`'s field `name`, or a message beside it. */
function quantity(form, name, min) {
  const input = f(form, name);
  const n = wholeNumber(input?.value);
  if (n === null || n < min || n > 1_000_000) {
    problem(form, errors.whole_number || "?", input);
    return null;
  }
  return n;
}

const postId = () => Number(document.getElementById("outbox")?.dataset.postId) || null;

// Each kind of form: the request it makes, or null after saying what is wrong.
const build = {
  async check_in(form) {
    const button = form.querySelector("button[type=submit]");
    const label = button?.textContent;
    if (button && form.dataset.locating) button.textContent = form.dataset.locating;
    const pos = await position(10000);
    if (button) button.textContent = label;
    const body = { shift_id: Number(f(form, "shift_id").value) };
    if (pos) Object.assign(body, pos);
    return { path: "/api/v1/check-ins", body, label: kinds.check_in, withId: true };
  },
  check_out(form) {
    // The check-in it ends, so that a resend cannot end a later one.
    const id = form.dataset.checkInId;
    return { path: "/api/v1/check-out", body: id ? { check_in_id: id } : {}, label: kinds.check_out };
  },
  incident(form) {
    const summary = f(form, "summary").value.trim();
    if (!summary) {
      problem(form, errors.required || "?", f(form, "summary"));
      return null;
    }
    const body = {
      kind: f(form, "kind").value,
      severity: f(form, "severity").value,
      checkpoint_id: Number(f(form, "checkpoint_id").value),
      summary,
    };
    return { path: "/api/v1/incidents", body, label: `${kinds.incident}: ${chosenLabel(f(form, "kind"))}`, withId: true };
  },
  consume(form) {
    const qty = quantity(form, "quantity", 0);
    if (qty === null) return null;
    const cp = Number(f(form, "checkpoint_id").value);
    const body = { item: f(form, "item").value, kind: "consumption", quantity: qty };
    const label = `${kinds.consume}: ${chosenLabel(f(form, "item"))} × ${qty}`;
    return { path: `/api/v1/checkpoints/${cp}/supplies`, body, label, withId: true };
  },
  resupply(form) {
    const qty = quantity(form, "quantity", 1);
    if (qty === null) return null;
    const cp = Number(f(form, "checkpoint_id").value);
    const body = { item: f(form, "item").value, quantity: qty, note: f(form, "note").value.trim() };
    const label = `${kinds.resupply}: ${chosenLabel(f(form, "item"))} × ${qty}`;
    return { path: `/api/v1/checkpoints/${cp}/resupply`, body, label, withId: true };
  },
  receipt(form) {
    const id = form.dataset.requestId || form.action.split("/").pop();
    const what = form.closest("li")?.querySelector("span")?.firstChild?.textContent?.trim() || "";
    return { path: `/api/v1/resupply/${encodeURIComponent(id)}/receipt`, body: {}, label: `${kinds.receipt} ${what}`.trim() };
  },
  living(form) {
    const answers = [];
    let bad = false;
    for (const set of form.querySelectorAll("fieldset.mp-aspect")) {
      const chosen = set.querySelector("input[type=radio]:checked");
      const aspect = chosen?.name.slice(3) || set.querySelector("input[type=radio]")?.name.slice(3);
      const note = set.querySelector("input[name^=note_]")?.value.trim() || "";
      set.classList.toggle("unanswered", !chosen);
      if (!chosen) {
        bad = true;
        continue;
      }
      const ok = chosen.value === "yes";
      if (!ok && !note) {
        problem(form, errors.required || "?", set.querySelector("input[name^=note_]"));
        bad = true;
        continue;
      }
      answers.push({ aspect, ok, note });
    }
    if (bad) {
      problem(form, texts.check_form || "?");
      return null;
    }
    const cp = Number(f(form, "checkpoint_id").value);
    return { path: `/api/v1/checkpoints/${cp}/living-checks`, body: { answers }, label: kinds.living, withId: true };
  },
};

// What the page shows at once after each kind went into the outbox.
const after = {
  check_in(form, entry) {
    showCheckedIn(entry.entered_us, entry.body?.id);
  },
  check_out(form) {
    form.hidden = true;
    duty?.querySelector(".mp-state-pending")?.remove();
    note(duty, duty?.dataset.checkedOut);
  },
  incident(form) {
    f(form, "summary").value = "";
  },
  consume(form) {
    f(form, "quantity").value = "";
  },
  resupply(form) {
    f(form, "quantity").value = "";
    f(form, "note").value = "";
  },
  receipt(form) {
    markReceived(form);
  },
  living(form) {
    form.reset();
  },
};

function note(section, text) {
  if (!section || !text) return;
  let p = section.querySelector(".mp-local-note");
  if (!p) {
    p = document.createElement("p");
    p.className = "notice mp-done mp-local-note";
    p.setAttribute("role", "status");
    section.prepend(p);
  }
  p.textContent = `${text} · ${texts.saved}`;
}

/** The duty section as the phone knows it: checked in (not yet sent), with
 * a check-out button that works offline too. */
function showCheckedIn(enteredUs, checkInId) {
  if (!duty || duty.querySelector(".mp-state-pending, .mp-state-in")) return;
  duty.querySelector("#check-in-form")?.setAttribute("hidden", "");
  const p = document.createElement("p");
  p.className = "mp-state mp-state-pending";
  p.textContent = `${(duty.dataset.checkedInAt || "{time}").replace("{time}", hhmm(enteredUs))} · ${texts.saved}`;
  duty.prepend(p);
  if (!duty.querySelector("form[data-outbox=check_out]")) {
    const form = document.createElement("form");
    form.method = "post";
    form.action = "/my-post/check-out";
    form.className = "mp-form";
    form.dataset.outbox = "check_out";
    if (checkInId) form.dataset.checkInId = checkInId;
    const csrf = document.createElement("input");
    csrf.type = "hidden";
    csrf.name = "_csrf";
    csrf.value = document.querySelector('meta[name="csrf-token"]')?.content || "";
    const button = document.createElement("button");
    button.type = "submit";
    button.className = "big secondary";
    button.textContent = duty.dataset.checkOut || "";
    form.append(csrf, button);
    p.after(form);
  }
}

function markReceived(form) {
  const li = form.closest("li");
  form.remove();
  const badge = li?.querySelector(".badge");
  if (badge) {
    badge.className = "badge resupply-received-local";
    badge.textContent = `✓ ${texts.saved}`;
  }
}

/** After a reload (perhaps from the phone's copy, offline): what is still
 * waiting in the outbox shows on the page as it did when it was entered. */
async function replay() {
  const waiting = (await entries().catch(() => [])).filter((e) => e.state !== "attention" && mine(e));
  const dutyEntries = waiting.filter((e) => e.kind === "check_in" || e.kind === "check_out");
  const last = dutyEntries[dutyEntries.length - 1];
  if (last?.kind === "check_in") showCheckedIn(last.entered_us, last.body?.id);
  else if (last?.kind === "check_out") {
    duty?.querySelector("form[data-outbox=check_out]")?.setAttribute("hidden", "");
    note(duty, duty?.dataset.checkedOut);
  }
  for (const e of waiting.filter((x) => x.kind === "receipt")) {
    const id = e.path.split("/")[4];
    const form = document.querySelector(`form[data-outbox=receipt][data-request-id="${CSS.escape(decodeURIComponent(id))}"]`);
    if (form) markReceived(form);
  }
  for (const e of waiting.filter((x) => x.kind in build).slice(-8)) logLine(log, e, e.label || kinds[e.kind] || e.kind);
}

let busy = false;
document.addEventListener("submit", async (event) => {
  const form = event.target;
  const kind = form.dataset?.outbox;
  if (!(kind in build)) return;
  event.preventDefault();
  if (busy) return; // a double tap enters once
  busy = true;
  const buttons = [...form.querySelectorAll("button[type=submit]")];
  buttons.forEach((b) => { b.disabled = true; });
  clearProblems(form);
  try {
    const request = await build[kind](form);
    if (!request) return;
    const { path, body, label, withId } = request;
    // A fresh id for every record: a page reopened from the phone's copy
    // must not send an earlier record's id again.
    const entry = await enqueue({ path, body: withId ? { id: uuidv7(), ...body } : body, label, kind, post_id: postId() });
    logLine(log, entry, label);
    after[kind]?.(form, entry);
  } catch (e) {
    enqueueProblem(form, e);
  } finally {
    busy = false;
    buttons.forEach((b) => { b.disabled = false; });
  }
});

// Once the server has a record, the sections it changed are shown as the
// server has them (the stock, the requests, who is present).
const SECTIONS = {
  check_in: ["duty"],
  check_out: ["duty"],
  consume: ["supplies"],
  resupply: ["requests"],
  receipt: ["requests", "supplies"],
};
const due = new Set();
let refreshing = 0;
onResult((r) => {
  for (const id of SECTIONS[r.kind] || []) due.add(id);
  clearTimeout(refreshing);
  if (due.size) refreshing = setTimeout(refresh, 300);
});

async function refresh() {
  const ids = [...due];
  due.clear();
  const res = await fetch(location.pathname, { headers: { accept: "text/html" }, credentials: "same-origin" }).catch(() => null);
  if (!res?.ok || res.redirected) return;
  const doc = new DOMParser().parseFromString(await res.text(), "text/html");
  for (const id of ids) {
    const fresh = doc.getElementById(id);
    const old = document.getElementById(id);
    if (!fresh || !old) continue;
    if (old.contains(document.activeElement) && document.activeElement.matches("input, textarea, select")) continue;
    old.replaceWith(fresh);
  }
  replay();
}

followLines(log);
replay();
