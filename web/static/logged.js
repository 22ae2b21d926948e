// What the field pages share around the outbox: its words (from the
// `#outbox` box), the "just entered" list whose lines follow each record
// from "saved on this phone" to "sent" (or "needs attention"), messages
// beside a form's fields, and reading numbers as officers type them.
import { onResult, onStatus } from "./outbox.js";
import { enqueueErrorText } from "./outbox-status.js";

const box = document.getElementById("outbox");
/** The outbox's words: `texts.kinds`, `texts.errors`, `texts.saved` … */
export const texts = JSON.parse(box?.dataset.texts || "{}");
const offsetHours = Number(document.documentElement.dataset.utcOffset || 8);

/** Whether `entry` was entered by whoever is signed in on this page (after
 * someone else signed in on the same phone, their records still wait in the
 * outbox, but they are not this officer's to show as done). */
export function mine(entry) {
  const me = Number(document.querySelector('meta[name="shouwang-user-id"]')?.content);
  return !Number.isInteger(entry?.entered_by) || entry.entered_by === me;
}

/** HH:MM of `us` (µs) in the deployment's display zone. */
export function hhmm(us) {
  return new Date(us / 1000 + offsetHours * 3600 * 1000).toISOString().slice(11, 16);
}

/** Today, `YYYY-MM-DD`, in the deployment's display zone. */
export function today() {
  return new Date(Date.now() + offsetHours * 3600 * 1000).toISOString().slice(0, 10);
}

/** The words for what a record's line says about it. */
function stateText(state) {
  return { saved: texts.saved, synced: texts.synced, attention: texts.refused }[state] || "";
}

/** Adds a line for `entry` at the top of `list` (at most `keep` lines). */
export function logLine(list, entry, text, { keep = 8, attrs = {} } = {}) {
  if (!list) return null;
  list.closest("[hidden]")?.removeAttribute("hidden");
  let li = list.querySelector(`li[data-id="${CSS.escape(entry.id)}"]`);
  if (!li) {
    li = document.createElement("li");
    li.dataset.id = entry.id;
    list.prepend(li);
  }
  for (const [k, v] of Object.entries(attrs)) li.setAttribute(k, v);
  li.replaceChildren();
  const main = document.createElement("span");
  main.textContent = text;
  const state = document.createElement("span");
  state.className = "log-state";
  li.append(main, " ", state);
  setState(li, entry.state === "attention" ? "attention" : "saved");
  while (list.children.length > keep) list.lastElementChild.remove();
  return li;
}

function setState(li, state) {
  li.dataset.state = state;
  const badge = li.querySelector(".log-state");
  if (badge) badge.textContent = `· ${stateText(state)}`;
}

/** Keeps the lines of `list` in step with the outbox: a line turns "sent"
 * when the server stored its record, "needs attention" when refused. */
export function followLines(list) {
  if (!list) return;
  onResult((r) => {
    const li = list.querySelector(`li[data-id="${CSS.escape(r.id)}"]`);
    if (li) setState(li, r.refused ? "attention" : "synced");
  });
  onStatus((s) => {
    const waiting = new Map(s.entries.map((e) => [String(e.id), e]));
    for (const li of list.querySelectorAll("li[data-id]")) {
      const e = waiting.get(li.dataset.id);
      if (e) setState(li, e.state === "attention" ? "attention" : "saved");
      else if (li.dataset.state === "saved" && !s.sending) setState(li, "synced");
    }
  });
}

/** Removes the messages `problem` put in `form`. */
export function clearProblems(form) {
  for (const p of form.querySelectorAll(".field-error.local")) p.remove();
  for (const el of form.querySelectorAll("[aria-invalid][data-local-invalid]")) {
    el.removeAttribute("aria-invalid");
    el.removeAttribute("aria-describedby");
    el.removeAttribute("data-local-invalid");
  }
}

/** Shows `message` beside `field` (an input, or a fieldset) of `form`, or at
 * the top of the form without one. The form keeps what was typed. */
export function problem(form, message, field = null) {
  const p = document.createElement("p");
  p.className = "field-error local";
  p.textContent = message;
  if (field) {
    const id = `${field.id || field.name || "field"}-local-error`;
    p.id = id;
    const inputs = field.matches("input, select, textarea") ? [field] : [...field.querySelectorAll("input, select, textarea")];
    for (const el of inputs) {
      el.setAttribute("aria-invalid", "true");
      el.setAttribute("aria-describedby", id);
      el.setAttribute("data-local-invalid", "");
    }
    if (field.matches("fieldset")) field.append(p);
    else field.after(p);
    field.scrollIntoView?.({ block: "center" });
  } else {
    p.setAttribute("role", "alert");
    form.prepend(p);
  }
  return p;
}

/** The message for an `enqueue` that failed (storage full …). */
export function enqueueProblem(form, error) {
  problem(form, enqueueErrorText(error));
}

/** A whole number typed into a form (full-width digits, spaces and
 * thousands separators allowed), or `null`. */
export function wholeNumber(raw) {
  const s = String(raw ?? "")
    .replace(/[\uFF10-\uFF19]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0))
    .replace(/[\s,，_]/g, "");
  return /^-?\d+$/.test(s) ? Number(s) : null;
}

/** The label of the option chosen in `select`. */
export function chosenLabel(select) {
  return select?.selectedOptions?.[0]?.textContent?.trim() || select?.value || "";
}
