// A household visit logged by the cadre on the household's page: checked
// here (a day not in the future, at most 30 days back, something found),
// put into the outbox (outbox.js) and shown among the visits at once; sent
// when the network allows. Without JavaScript the form posts as it is.
import { enqueue, entries, onResult } from "./outbox.js";
import { uuidv7 } from "./ids.js";
import { texts, today, clearProblems, problem, enqueueProblem, mine } from "./logged.js";

const form = document.getElementById("visit-form");
const BACKDATE_DAYS = 30;

/** `day` minus `n` days, both `YYYY-MM-DD`. */
function daysBefore(day, n) {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - n);
  return d.toISOString().slice(0, 10);
}

function list() {
  return document.getElementById("visit-list");
}

/** The visit among the household's visits, marked as not yet sent. */
function show(entry) {
  const ol = list();
  if (!ol || ol.querySelector(`li[data-id="${CSS.escape(entry.id)}"]`)) return;
  ol.querySelector("li.muted")?.remove();
  const b = entry.body;
  const li = document.createElement("li");
  li.dataset.testid = "visit";
  li.dataset.id = entry.id;
  const time = document.createElement("time");
  time.textContent = b.day || today();
  const who = document.createElement("strong");
  who.textContent = document.getElementById("outbox")?.dataset.userName || "";
  const found = document.createElement("span");
  found.className = "ent-note";
  found.textContent = b.found;
  li.append(time, " ", who, " ", found);
  if (b.promised) {
    const promised = document.createElement("span");
    promised.className = "muted";
    promised.textContent = ` → ${b.promised}`;
    li.append(promised);
  }
  const state = document.createElement("span");
  state.className = "log-state";
  li.append(" ", state);
  li.dataset.state = "saved";
  state.textContent = `· ${texts.saved || ""}`;
  ol.prepend(li);
}

if (form) {
  const household = Number(form.dataset.householdId);
  const path = `/api/v1/households/${household}/visits`;
  let busy = false;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (busy) return;
    busy = true;
    clearProblems(form);
    const button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    try {
      const errors = texts.errors || {};
      const day = form.elements.day.value.trim();
      const found = form.elements.found.value.trim();
      const now = today();
      if (day && day > now) {
        problem(form, errors.in_future || "?", form.elements.day);
        return;
      }
      if (day && day < daysBefore(now, BACKDATE_DAYS)) {
        problem(form, errors.too_old || "?", form.elements.day);
        return;
      }
      if (!found) {
        problem(form, errors.required || "?", form.elements.found);
        return;
      }
      const body = { id: uuidv7(), day, found, promised: form.elements.promised.value.trim() };
      const label = `${texts.kinds?.visit || ""} ${document.querySelector("#household h1")?.firstChild?.textContent?.trim() || ""}`.trim();
      const entry = await enqueue({ path, body, label, kind: "visit", post_id: null });
      show(entry);
      form.elements.found.value = "";
      form.elements.promised.value = "";
      form.elements.day.value = now;
    } catch (e) {
      enqueueProblem(form, e);
    } finally {
      busy = false;
      if (button) button.disabled = false;
    }
  });

  // Visits still on the phone show after a reload, and after the list was
  // fetched again from the server (live updates).
  const replay = () =>
    entries()
      .then((all) => all.filter((e) => e.kind === "visit" && e.path === path && e.state !== "attention" && mine(e)).forEach(show))
      .catch(() => {});
  let current = list();
  replay();
  new MutationObserver(() => {
    if (list() !== current) {
      current = list();
      replay();
    }
  }).observe(document.getElementById("visits") || document.body, { childList: true, subtree: true });

  onResult((r) => {
    const li = list()?.querySelector(`li[data-id="${CSS.escape(r.id)}"]`);
    if (!li) return;
    li.dataset.state = r.refused ? "attention" : "synced";
    const state = li.querySelector(".log-state");
    if (state) state.textContent = `· ${(r.refused ? texts.refused : texts.synced) || ""}`;
  });
}
