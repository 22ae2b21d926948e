// The resumption of work, live: parts of a page marked `data-live-kinds`
// (space-separated event kinds; one ending in "." is a prefix) are fetched
// again and swapped in when such an event arrives on the live stream
// (live.js), at most once per 300 ms however many arrive. The server renders
// them; this only keeps them current. `data-live-subject` narrows a part to
// one event subject (`ticket:<id>`), `data-live-enterprise` to the events of
// one enterprise. Forms are never inside these parts, and a part being typed
// into is left alone.
const parts = () => [...document.querySelectorAll("[data-live-kinds]")];

function wants(el, event) {
  const kinds = el.dataset.liveKinds.split(/\s+/).filter(Boolean);
  if (!kinds.some((k) => (k.endsWith(".") ? event.kind.startsWith(k) : event.kind === k))) return false;
  const subject = el.dataset.liveSubject;
  if (subject && event.subject !== subject) return false;
  const enterprise = el.dataset.liveEnterprise;
  if (enterprise) {
    const p = event.payload || {};
    const of = event.subject.startsWith("enterprise:") ? event.subject.slice(11) : p.enterprise_id;
    if (String(of) !== enterprise) return false;
  }
  return true;
}

const due = new Set();
let timer = null;

async function refresh() {
  const ids = [...due];
  due.clear();
  const url = new URL(location.href);
  url.searchParams.delete("done");
  const res = await fetch(url, { headers: { accept: "text/html" } }).catch(() => null);
  if (!res || !res.ok) return;
  const doc = new DOMParser().parseFromString(await res.text(), "text/html");
  for (const id of ids) {
    const fresh = doc.getElementById(id);
    const old = document.getElementById(id);
    if (!fresh || !old) continue;
    if (old.contains(document.activeElement) && document.activeElement.matches("input, textarea, select")) continue;
    old.replaceWith(fresh);
    fresh.classList.add("res-fresh");
  }
}

document.addEventListener("shouwang:event", (e) => {
  const event = e.detail;
  let any = false;
  for (const el of parts()) {
    if (el.id && wants(el, event)) {
      due.add(el.id);
      any = true;
    }
  }
  if (!any) return;
  clearTimeout(timer);
  timer = setTimeout(refresh, 300);
});
