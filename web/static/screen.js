// The officer's screening page (/screen): a plate keypad, remembered
// choices, people added one by one, and each record sent as JSON to the
// screenings API with a UUIDv7 made here. What the network does not take is
// kept in a queue in localStorage and sent again (same id, so never stored
// twice) when the phone is back online or the page is next opened. Without
// JavaScript the form posts to /screen as it is.
import { uuidv7 } from "./ids.js";

const form = document.getElementById("screen-form");

const MEMORY = "shouwang.screen.";
const QUEUE = MEMORY + "queue";
const LOG_LENGTH = 8;

function remember(key, value) {
  try { localStorage.setItem(MEMORY + key, value); } catch { /* private mode: nothing kept */ }
}

function recall(key) {
  try { return localStorage.getItem(MEMORY + key); } catch { return null; }
}

if (form) {
  const texts = JSON.parse(form.dataset.texts || "{}");
  const postId = form.dataset.postId;
  const url = `/api/v1/checkpoints/${postId}/screenings`;
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";
  const plate = form.elements.plate;
  const onFoot = document.getElementById("on-foot");
  const count = form.elements.people_count;
  const people = document.getElementById("people");
  const template = document.getElementById("person-template");
  const submit = document.getElementById("screen-submit");
  const done = document.getElementById("screen-done");
  const queueNote = document.getElementById("screen-queue");
  const log = document.getElementById("screen-log");
  const general = document.getElementById("screen-errors");
  const regions = document.getElementById("regions");
  let sending = false;

  // ------------------------------------------------------------ the keypad
  const keypad = document.getElementById("keypad");
  keypad.hidden = false;
  const provinces = document.getElementById("keypad-provinces");
  const lastProvince = recall("province");
  const first = lastProvince && provinces.querySelector(`[data-key="${CSS.escape(lastProvince)}"]`);
  if (first) provinces.prepend(first);

  keypad.addEventListener("click", (event) => {
    const key = event.target.closest("button");
    if (!key || plate.disabled) return;
    if (key.dataset.action === "back") plate.value = plate.value.slice(0, -1);
    else if (key.dataset.action === "clear") plate.value = "";
    else if (key.dataset.key && plate.value.length < 10) plate.value += key.dataset.key;
    plate.dispatchEvent(new Event("input"));
  });
  plate.addEventListener("input", () => {
    const upper = plate.value.toUpperCase();
    if (upper !== plate.value) plate.value = upper;
  });
  const footChanged = () => {
    plate.disabled = onFoot.checked;
    keypad.classList.toggle("off", onFoot.checked);
    if (onFoot.checked) pick("vehicle_type", "other");
  };
  onFoot.addEventListener("change", footChanged);

  // ----------------------------------------------- remembered choices
  function pick(name, value) {
    const radio = form.querySelector(`input[type=radio][name="${name}"][value="${CSS.escape(value)}"]`);
    if (radio) radio.checked = true;
  }
  const remembered = ["direction", "vehicle_type", "cargo"];
  // Choices the server kept after a refusal win over remembered ones.
  if (!form.querySelector("[aria-invalid]")) {
    for (const name of remembered) {
      const value = recall(name);
      if (value) pick(name, value);
    }
  }

  // The big button names the outcome it records.
  const outcomeLabel = () => {
    const chosen = form.querySelector("input[name=outcome]:checked");
    submit.textContent = (chosen && texts.outcomes?.[chosen.value]) || submit.textContent;
  };
  form.addEventListener("change", (event) => {
    if (event.target.name === "outcome") outcomeLabel();
    // A health code chosen for the vehicle is the default of people not yet given one.
    if (event.target.name === "health_code") {
      for (const block of people.querySelectorAll(".scr-person:not([data-touched])")) {
        const r = block.querySelector(`input[type=radio][value="${CSS.escape(event.target.value)}"]`);
        if (r) r.checked = true;
      }
    }
    const block = event.target.closest(".scr-person");
    if (block && event.target.type === "radio") block.dataset.touched = "1";
  });

  // ----------------------------------------------------- people count
  for (const b of form.querySelectorAll("[data-step]")) b.hidden = false;
  form.addEventListener("click", (event) => {
    const step = event.target.closest("[data-step]");
    if (!step) return;
    const n = (parseInt(count.value, 10) || 1) + Number(step.dataset.step);
    const listed = people.querySelectorAll(".scr-person").length;
    count.value = String(Math.min(99, Math.max(1, listed, n)));
  });

  // ------------------------------------------------------------ people
  const addButton = document.getElementById("add-person");
  addButton.hidden = false;
  function addPerson() {
    const i = people.querySelectorAll(".scr-person").length;
    const html = template.innerHTML.replaceAll("__i__", String(i)).replaceAll("__n__", String(i + 1));
    people.insertAdjacentHTML("beforeend", html);
    const block = people.lastElementChild;
    const vehicleCode = form.querySelector("input[name=health_code]:checked");
    if (vehicleCode) {
      const r = block.querySelector(`input[type=radio][value="${vehicleCode.value}"]`);
      if (r) r.checked = true;
    }
    for (const f of ["origin", "destination"]) {
      const input = block.querySelector(`input[name$=".${f}"]`);
      const last = recall(f);
      if (input && last) input.value = last;
    }
    if ((parseInt(count.value, 10) || 0) < i + 1) count.value = String(i + 1);
    block.querySelector("input")?.focus();
    return block;
  }
  addButton.addEventListener("click", addPerson);

  // Region search for origin and destination, into the shared datalist.
  let searchTimer = 0;
  let lastQuery = "";
  const found = new Map(); // full name or name → code
  form.addEventListener("input", (event) => {
    const input = event.target;
    if (!input.hasAttribute("data-region")) return;
    const q = input.value.trim();
    if (!q || /^\d{6}$/.test(q) || q === lastQuery) return;
    clearTimeout(searchTimer);
    searchTimer = setTimeout(async () => {
      lastQuery = q;
      try {
        const res = await fetch(`/api/v1/regions?q=${encodeURIComponent(q)}&limit=20`, { headers: { accept: "application/json" } });
        if (!res.ok) return;
        const list = await res.json();
        regions.replaceChildren(...list.map((r) => {
          found.set(r.full_name, r.code);
          found.set(r.name, r.code);
          const option = document.createElement("option");
          option.value = r.code;
          option.label = r.full_name;
          option.textContent = r.full_name;
          return option;
        }));
      } catch { /* offline: type the code */ }
    }, 250);
  });

  // ------------------------------------------------------------ errors
  function clearErrors() {
    general.replaceChildren();
    for (const p of form.querySelectorAll(".field-error")) p.remove();
    for (const el of form.querySelectorAll("[aria-invalid]")) {
      el.removeAttribute("aria-invalid");
      el.removeAttribute("aria-describedby");
    }
  }

  function showError(field, message) {
    const box = field && form.querySelector(`[data-field="${CSS.escape(field)}"]`);
    const p = document.createElement("p");
    p.className = "field-error";
    p.textContent = message;
    if (!box) {
      p.setAttribute("role", "alert");
      general.append(p);
      general.scrollIntoView({ block: "nearest" });
      return;
    }
    p.id = `${box.id || "f-" + field.replace(/[^\w]/g, "-")}-error`;
    box.append(p);
    for (const el of box.querySelectorAll("input")) {
      el.setAttribute("aria-invalid", "true");
      el.setAttribute("aria-describedby", p.id);
    }
    if (box.closest("details")) box.closest("details").open = true;
    box.scrollIntoView({ block: "center" });
    box.querySelector("input:not([type=radio])")?.focus();
  }

  // ------------------------------------------------------------ the record
  function value(name) {
    const el = form.elements[name];
    return el ? String(el.value ?? "").trim() : "";
  }

  function body() {
    const record = {
      id: form.elements.id.value || uuidv7(),
      occurred_us: Date.now() * 1000,
      direction: value("direction"),
      plate: onFoot.checked ? "none" : value("plate"),
      vehicle_type: value("vehicle_type"),
      people_count: value("people_count"),
      people: [],
      cargo: value("cargo"),
      outcome: value("outcome"),
    };
    for (const f of ["pass_number", "note"]) if (value(f)) record[f] = value(f);
    const vehicleCode = value("health_code");
    for (const block of people.querySelectorAll(".scr-person")) {
      const i = block.dataset.index;
      const person = {};
      for (const f of ["name", "id_number", "phone", "temperature", "origin", "destination", "health_code"]) {
        let v = value(`people[${i}].${f}`);
        if ((f === "origin" || f === "destination") && v && !/^\d+$/.test(v) && found.has(v)) v = found.get(v);
        if (v) person[f] = v;
      }
      record.people.push(person);
    }
    if (record.people.length === 0 && vehicleCode && vehicleCode !== "green") {
      record.people.push({ health_code: vehicleCode });
    }
    return record;
  }

  function queued() {
    try { return JSON.parse(localStorage.getItem(QUEUE) || "[]"); } catch { return []; }
  }

  function setQueue(list) {
    try { localStorage.setItem(QUEUE, JSON.stringify(list)); } catch { /* full: nothing more kept */ }
    queueNote.hidden = list.length === 0;
    queueNote.textContent = (texts.queued || "{count}").replace("{count}", String(list.length));
  }

  async function post(target, record) {
    return fetch(target, {
      method: "POST",
      credentials: "same-origin",
      headers: { "content-type": "application/json", accept: "application/json", "x-csrf-token": csrf },
      body: JSON.stringify(record),
    });
  }

  function logged(stored, note) {
    const plateText = stored.plate || texts.on_foot || "";
    const outcome = texts.outcomes?.[stored.outcome] || stored.outcome;
    const line = (texts.done || "{plate} {outcome}").replace("{plate}", plateText).replace("{outcome}", outcome);
    done.hidden = false;
    done.textContent = note ? `${line} · ${note}` : line;
    const li = document.createElement("li");
    li.dataset.id = stored.id;
    if (stored.plate) li.dataset.plate = stored.plate;
    li.textContent = note ? `${line} · ${note}` : line;
    log.prepend(li);
    while (log.children.length > LOG_LENGTH) log.lastElementChild.remove();
  }

  // After a record is stored or queued: a fresh id, plate and people gone,
  // the remembered choices kept, outcome back to released.
  function reset(record) {
    for (const name of remembered) remember(name, record[name]);
    const p = record.plate && record.plate !== "none" ? [...record.plate][0] : "";
    if (p && provinces.querySelector(`[data-key="${CSS.escape(p)}"]`)) remember("province", p);
    for (const person of record.people) {
      if (person.origin) remember("origin", person.origin);
      if (person.destination) remember("destination", person.destination);
    }
    form.elements.id.value = uuidv7();
    plate.value = "";
    onFoot.checked = false;
    footChanged();
    if (record.vehicle_type) pick("vehicle_type", record.vehicle_type);
    people.replaceChildren();
    count.value = "1";
    pick("health_code", "green");
    pick("outcome", "released");
    outcomeLabel();
    for (const f of ["pass_number", "note"]) if (form.elements[f]) form.elements[f].value = "";
    const keep = recall("province");
    const first = keep && provinces.querySelector(`[data-key="${CSS.escape(keep)}"]`);
    if (first) provinces.prepend(first);
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (sending) return; // a double tap sends once
    sending = true;
    submit.disabled = true;
    clearErrors();
    const record = body();
    form.elements.id.value = record.id;
    try {
      let res;
      try {
        res = await post(url, record);
      } catch {
        // The network is down: keep it, send it later with the same id.
        setQueue([...queued(), { url, record }]);
        logged(record, texts.saved_offline);
        reset(record);
        return;
      }
      if (res.ok) {
        logged(await res.json());
        reset(record);
        return;
      }
      let problem = null;
      try { problem = (await res.json()).error; } catch { /* not JSON */ }
      if (res.status < 500 && problem) showError(problem.field, problem.message || texts.failed);
      else showError(null, texts.failed);
    } finally {
      sending = false;
      submit.disabled = false;
    }
  });

  // ------------------------------------------------------------ the queue
  let flushing = false;
  async function flush() {
    if (flushing) return;
    flushing = true;
    try {
      let list = queued();
      while (list.length > 0) {
        const [item] = list;
        let res;
        try {
          res = await post(item.url, item.record);
        } catch {
          break; // still offline
        }
        if (res.ok) {
          logged(await res.json());
        } else if (res.status >= 500 || res.status === 401 || res.status === 403) {
          break; // try again later (or after signing in again)
        } else {
          let problem = null;
          try { problem = (await res.json()).error; } catch { /* not JSON */ }
          showError(null, `${item.record.plate || ""} ${problem?.message || texts.failed}`.trim());
        }
        list = queued().filter((q) => q.record.id !== item.record.id);
        setQueue(list);
      }
      setQueue(queued());
    } finally {
      flushing = false;
    }
  }

  window.addEventListener("online", flush);
  footChanged();
  outcomeLabel();
  form.elements.id.value = uuidv7();
  setQueue(queued());
  flush();
}
