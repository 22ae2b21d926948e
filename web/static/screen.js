// The officer's screening page (/screen): a plate keypad, remembered
// choices, people added one by one, and each record made into the
// screenings API's JSON with a UUIDv7 made here and put into the outbox
// (outbox.js), which sends it when the network allows. A record is done for
// the officer once it is in the outbox: the next car can come at once. The
// plate and ID numbers are checked here first (the server's rules, the
// server's words); anything else the server refuses shows in "needs
// attention". Without JavaScript the form posts to /screen as it is.
import { uuidv7 } from "./ids.js";
import { enqueue, entries } from "./outbox.js";
import { texts as outboxTexts, logLine, followLines, mine } from "./logged.js";
import { enqueueErrorText } from "./outbox-status.js";
import { regionsMatching } from "./post-data.js";

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
  const plate = form.elements.plate;
  const onFoot = document.getElementById("on-foot");
  const count = form.elements.people_count;
  const people = document.getElementById("people");
  const template = document.getElementById("person-template");
  const submit = document.getElementById("screen-submit");
  const done = document.getElementById("screen-done");
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
        // The region list kept on the phone first (it works offline); the
        // server's search when the phone has none yet.
        let list = await regionsMatching(q, 20).catch(() => []);
        if (!list.length) {
          const res = await fetch(`/api/v1/regions?q=${encodeURIComponent(q)}&limit=20`, { headers: { accept: "application/json" } });
          if (!res.ok) return;
          list = await res.json();
        }
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

  // ------------------------------------------- checks before the outbox
  // The server's rules for the mistakes made most at a post, so that they
  // are fixed while the car is still there (GA 36-2018 plates, GB 11643 ID
  // numbers). Anything else is checked by the server.
  const errorText = outboxTexts.errors || {};
  const PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼";
  const halfWidth = (t) => t.replace(/[\uFF01-\uFF5E]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0));

  function plateProblem(raw) {
    const t = raw.trim();
    if (!t || t.toLowerCase() === "none" || t === "无") return null;
    const p = [...halfWidth(t).replace(/[\s·•・-]/g, "").toUpperCase()];
    const char = (c) => /^[0-9A-HJ-NP-Z]$/.test(c);
    const [province, authority, ...rest] = p;
    let ok = PROVINCES.includes(province) && /^[A-Z]$/.test(authority || "") && char(authority);
    if (ok) {
      const last = rest[rest.length - 1];
      if ("挂学警".includes(last)) ok = rest.length === 5 && rest.slice(0, 4).every(char);
      else if (rest.length === 5) ok = rest.every(char);
      else if (rest.length === 6) ok = rest.every(char) && ("DF".includes(rest[0]) || "DF".includes(last));
      else ok = false;
    }
    return ok ? null : "invalid_plate";
  }

  function idProblem(raw) {
    const s = halfWidth(raw).replace(/\s/g, "").toUpperCase();
    if (!s) return null;
    if (s.length !== 18) return "invalid_length";
    if (!/^[1-9]\d{16}[\dX]$/.test(s)) return "invalid_format";
    const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const sum = weights.reduce((n, w, i) => n + w * Number(s[i]), 0);
    return "10X98765432"[sum % 11] === s[17] ? null : "bad_check_digit";
  }

  /** The first mistake found here, as `[field, code]`, or null. */
  function localProblem(record) {
    const plateCode = record.plate === "none" ? null : plateProblem(record.plate);
    if (plateCode) return ["plate", plateCode];
    for (const [i, person] of record.people.entries()) {
      const code = person.id_number ? idProblem(person.id_number) : null;
      if (code) return [`people[${i}].id_number`, code];
    }
    return null;
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

  /** "豫M12345 已放行" for a record. */
  function line(record) {
    const shown = record.plate && record.plate !== "none" ? record.plate : texts.on_foot || "";
    const outcome = texts.outcomes?.[record.outcome] || record.outcome;
    return (texts.done || "{plate} {outcome}").replace("{plate}", shown).replace("{outcome}", outcome);
  }

  /** The record in "just logged", from "saved on this phone" to "sent". */
  function logged(entry) {
    const record = entry.body || {};
    const text = line(record);
    done.hidden = false;
    done.textContent = `${text} · ${outboxTexts.saved || ""}`;
    const attrs = record.plate && record.plate !== "none" ? { "data-plate": record.plate } : {};
    logLine(log, entry, text, { keep: LOG_LENGTH, attrs });
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

  /** Puts `record` into the outbox; resolves with its entry. */
  function keep(record, enteredUs) {
    const label = `${outboxTexts.kinds?.screening || ""} ${line(record)}`.trim();
    return enqueue({ path: url, body: record, label, kind: "screening", post_id: Number(postId), entered_us: enteredUs });
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (sending) return; // a double tap enters once
    sending = true;
    submit.disabled = true;
    clearErrors();
    const record = body();
    form.elements.id.value = record.id;
    try {
      const wrong = localProblem(record);
      if (wrong) {
        showError(wrong[0], errorText[wrong[1]] || texts.failed);
        return;
      }
      // In the outbox, the record is done: the next car can come.
      logged(await keep(record));
      reset(record);
    } catch (e) {
      // Not kept (storage full …): say so; what was typed stays.
      showError(null, enqueueErrorText(e));
    } finally {
      sending = false;
      submit.disabled = false;
    }
  });

  // Records an older version of this page kept in localStorage go into the
  // outbox once (same ids: a record already sent is not stored twice).
  async function migrate() {
    let old;
    try { old = JSON.parse(localStorage.getItem(QUEUE) || "[]"); } catch { old = []; }
    if (!Array.isArray(old) || old.length === 0) return;
    for (const item of old) {
      const record = item?.record;
      if (!record || typeof record.id !== "string") continue;
      const entry = await enqueue({
        path: typeof item.url === "string" && item.url.startsWith("/api/v1/") ? item.url : url,
        body: record,
        label: `${outboxTexts.kinds?.screening || ""} ${line(record)}`.trim(),
        kind: "screening",
        entered_us: Number.isFinite(record.occurred_us) ? record.occurred_us : undefined,
      });
      logged(entry);
    }
    try { localStorage.removeItem(QUEUE); } catch { /* kept: enqueued again next time, harmlessly */ }
  }

  // What is still on the phone shows in "just logged" after a reload.
  entries()
    .then((all) => {
      for (const e of all.filter((x) => x.kind === "screening" && x.path === url && mine(x)).slice(-LOG_LENGTH)) logged(e);
      done.hidden = !done.textContent;
    })
    .catch(() => {});

  followLines(log);
  footChanged();
  outcomeLabel();
  form.elements.id.value = uuidv7();
  migrate().catch(() => { /* the outbox cannot store: the old queue stays for next time */ });
}
