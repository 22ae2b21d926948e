// The command board, live: live.js hands every event of the stream to
// "shouwang:event"; this applies each to the posts' markers, their rows and
// the headline figures, without a reload. The page was drawn at the event id
// live.js resumes from, so each change is applied exactly once.
const root = document.getElementById("board");

if (root) {
  const board = JSON.parse(root.dataset.board);
  const labels = JSON.parse(root.dataset.labels || "{}");
  const todayUs = Number(root.dataset.todayUs);
  const offsetHours = Number(document.documentElement.dataset.utcOffset || 8);
  const posts = new Map(board.posts.map((p) => [p.id, p]));
  const figures = { ...board.headline };

  const text = (id, value) => {
    const el = document.getElementById(id);
    if (el) el.textContent = String(value);
  };
  const flash = (el) => {
    if (!el) return;
    el.classList.remove("fresh");
    void el.offsetWidth; // restart the animation
    el.classList.add("fresh");
  };
  const clock = (us) => new Date(us / 1000 + offsetHours * 3600 * 1000).toISOString().slice(11, 16);

  // What the marker shows: an open incident at a running post outranks staffing.
  const stateOf = (p) =>
    p.status === "active" && p.open_incidents + (p.open_alerts || 0) > 0 ? "alert" : p.staffing;

  function redraw(p) {
    p.state = stateOf(p);
    const row = root.querySelector(`tr[data-post-id="${p.id}"]`);
    const marker = root.querySelector(`.marker[data-post-id="${p.id}"]`);
    if (marker) {
      marker.dataset.state = p.state;
      const title = marker.querySelector("title");
      if (title) title.textContent = `${p.code} ${p.name} · ${labels[p.state] || p.state}`;
    }
    if (!row) return;
    row.dataset.state = p.state;
    const callButton = row.querySelector("[data-call-checkpoint]");
    if (callButton) callButton.dataset.present = p.present;
    const cell = (field) => row.querySelector(`td[data-field="${field}"]`);
    const present = cell("present");
    present.dataset.value = p.present;
    present.querySelector(".present").textContent = p.present;
    const state = cell("state");
    state.dataset.value = p.state;
    state.innerHTML = "";
    const badge = document.createElement("span");
    badge.className = `badge state-${p.state}`;
    badge.textContent = labels[p.state] || p.state;
    state.append(badge);
    const last = cell("last");
    if (p.last_activity_us) {
      last.dataset.value = p.last_activity_us;
      last.textContent = clock(p.last_activity_us);
    }
    cell("screenings").dataset.value = p.screenings_today;
    cell("screenings").textContent = p.screenings_today;
    cell("incidents").dataset.value = p.open_incidents;
    cell("incidents").textContent = p.open_incidents;
    cell("alerts").dataset.value = p.open_alerts || 0;
    cell("alerts").textContent = p.open_alerts || 0;
    const sync = cell("sync");
    if (sync) {
      sync.dataset.value = p.late_records || 0;
      sync.querySelector("[data-testid=late]").textContent = p.late_records || 0;
      if (p.last_sync_us) sync.querySelector(".sync-at").textContent = ` · ${clock(p.last_sync_us)}`;
      sync.querySelector(".clock-flag").hidden = Math.abs(p.clock_skew_us || 0) <= 300000000;
    }
    flash(row);
  }

  function headline() {
    const running = [...posts.values()].filter((p) => p.status === "active");
    figures.posts_running = running.length;
    figures.posts_staffed = running.filter((p) => p.staffing === "staffed").length;
    figures.on_duty = [...posts.values()].reduce((n, p) => n + p.present, 0);
    text("fig-staffed", figures.posts_staffed);
    text("fig-running", figures.posts_running);
    text("fig-on-duty", figures.on_duty);
    text("fig-screenings", figures.screenings_today);
    text("fig-incidents", figures.open_incidents);
    text("fig-resupply", figures.pending_resupply);
    text("fig-alerts", figures.open_alerts);
    for (const [outcome, n] of Object.entries(figures.today_by_outcome)) {
      const el = root.querySelector(`.board-outcomes [data-outcome="${outcome}"] strong`);
      if (el) el.textContent = n;
    }
  }

  // Calls going on: the call's subject → the posts it rang. A post in a call
  // shows it in its row and on its marker.
  const calls = new Map();
  function markCalls() {
    const inCall = new Set([...calls.values()].flat());
    root.querySelectorAll("tr[data-post-id], .marker[data-post-id]").forEach((el) => {
      if (inCall.has(Number(el.dataset.postId))) el.dataset.inCall = "true";
      else delete el.dataset.inCall;
    });
  }

  function apply(event) {
    const p = event.payload || {};
    if (event.kind === "call.started") {
      calls.set(event.subject, (p.invited || []).map((i) => i.checkpoint).filter((c) => c != null));
      markCalls();
      return;
    }
    if (event.kind === "call.ended") {
      calls.delete(event.subject);
      markCalls();
      return;
    }
    const post = posts.get(p.checkpoint_id ?? p.id);
    switch (event.kind) {
      case "checkpoint.staffing_changed":
      case "checkpoint.status_changed":
      case "checkpoint.updated":
        if (!post) return;
        post.staffing = p.staffing ?? post.staffing;
        post.status = p.status ?? post.status;
        if (typeof p.present === "number") post.present = p.present;
        if (typeof p.required_staff === "number") post.required = p.required_staff;
        break;
      case "post.synced":
        if (!post) return;
        post.late_records = (post.late_records || 0) + (p.late || 0);
        post.last_sync_us = event.at_us;
        post.clock_skew_us = p.skew_us || 0;
        break;
      case "screening.recorded":
        if (!post) return;
        post.last_activity_us = Math.max(post.last_activity_us || 0, event.at_us);
        if (event.at_us >= todayUs) {
          post.screenings_today += p.count;
          figures.screenings_today += p.count;
          for (const [outcome, n] of Object.entries(p.outcomes || {})) {
            figures.today_by_outcome[outcome] = (figures.today_by_outcome[outcome] || 0) + n;
          }
        }
        break;
      case "incident.opened":
      case "incident.closed": {
        const up = event.kind === "incident.opened" ? 1 : -1;
        if (!post) return;
        post.open_incidents = Math.max(0, post.open_incidents + up);
        figures.open_incidents = Math.max(0, figures.open_incidents + up);
        break;
      }
      case "duty.checked_in":
      case "duty.checked_out":
        // The staffing event that follows carries the new count; a check-in
        // that does not change staffing still changes who is present.
        if (!post) return;
        post.present = Math.max(0, post.present + (event.kind === "duty.checked_in" ? 1 : -1));
        break;
      case "alert.raised":
      case "alert.resolved": {
        const up = event.kind === "alert.raised" ? 1 : -1;
        figures.open_alerts = Math.max(0, (figures.open_alerts || 0) + up);
        if (up > 0) chime(p.severity);
        const at = posts.get(p.checkpoint);
        if (!at) {
          headline();
          return;
        }
        at.open_alerts = Math.max(0, (at.open_alerts || 0) + up);
        redraw(at);
        headline();
        return;
      }
      case "resupply.requested":
        figures.pending_resupply += 1;
        headline();
        return;
      case "resupply.approved":
      case "resupply.rejected":
        figures.pending_resupply = Math.max(0, figures.pending_resupply - 1);
        headline();
        return;
      default:
        return;
    }
    redraw(post);
    headline();
  }

  // A short tone for each new alert (not for mere information), when the
  // commander turned the sound on; the choice is kept in this browser.
  const sound = document.getElementById("alert-sound");
  const SOUND_KEY = "shouwang.alertSound";
  if (sound) {
    try { sound.checked = localStorage.getItem(SOUND_KEY) === "on"; } catch { /* private mode */ }
    sound.addEventListener("change", () => {
      try { localStorage.setItem(SOUND_KEY, sound.checked ? "on" : "off"); } catch { /* private mode */ }
    });
  }
  let audio = null;
  function chime(severity) {
    if (!document.getElementById("alert-sound")?.checked || severity === "info") return;
    audio ??= new AudioContext();
    const tone = audio.createOscillator();
    const gain = audio.createGain();
    tone.frequency.value = severity === "critical" ? 880 : 660;
    gain.gain.setValueAtTime(0.2, audio.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.6);
    tone.connect(gain).connect(audio.destination);
    tone.start();
    tone.stop(audio.currentTime + 0.6);
  }

  // Filters: township, kind, status; rows and markers that do not match
  // are hidden, and hidden again when their state changes live.
  const filters = document.getElementById("board-filters");
  function filter() {
    if (!filters) return;
    const want = Object.fromEntries(new FormData(filters));
    let shown = 0;
    root.querySelectorAll("tr[data-post-id], .marker[data-post-id]").forEach((el) => {
      const ok = ["township", "kind", "state"].every((k) => !want[k] || el.dataset[k] === want[k]);
      el.hidden = !ok;
      el.style.display = ok ? "" : "none";
      if (ok && el.tagName === "TR") shown += 1;
    });
    const out = document.getElementById("board-shown");
    if (out) out.textContent = `${shown} / ${posts.size}`;
  }
  filters?.addEventListener("change", filter);
  filters?.addEventListener("submit", (e) => e.preventDefault());

  // A post's panel: a click on its marker or its row opens it beside the
  // board (the server renders it); an event about the post fetches it again.
  const panel = document.getElementById("post-panel");
  const panelBody = document.getElementById("post-panel-body");
  let open = null;
  let again = null;
  function markOpen() {
    root.querySelectorAll("[data-open]").forEach((el) => delete el.dataset.open);
    if (open === null) return;
    root.querySelectorAll(`tr[data-post-id="${open}"], .marker[data-post-id="${open}"]`).forEach((el) => {
      el.dataset.open = "true";
    });
  }
  async function showPanel(id) {
    const res = await fetch(`/board/posts/${id}`, { headers: { accept: "text/html" } }).catch(() => null);
    if (open !== null && open !== id) return; // another post was opened meanwhile
    if (!res || !res.ok) {
      panelBody.textContent = panel.dataset.failed;
    } else {
      panelBody.innerHTML = await res.text();
    }
    panel.hidden = false;
  }
  function openPanel(id) {
    open = id;
    markOpen();
    const url = new URL(location.href);
    url.searchParams.set("post", id);
    history.replaceState(null, "", url);
    showPanel(id);
  }
  function closePanel() {
    open = null;
    panel.hidden = true;
    panelBody.textContent = "";
    markOpen();
    const url = new URL(location.href);
    url.searchParams.delete("post");
    history.replaceState(null, "", url);
  }
  root.addEventListener("click", (e) => {
    if (e.target.closest("[data-panel-close]")) {
      closePanel();
      return;
    }
    // A click that opens a new tab, or on a control, keeps its own meaning.
    if (e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return;
    if (e.target.closest("button, input, select, label, form, #post-panel")) return;
    const at = e.target.closest(".marker[data-post-id], #board-table tr[data-post-id]");
    if (!at) return;
    e.preventDefault();
    openPanel(Number(at.dataset.postId));
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && open !== null) closePanel();
  });
  // What an event is about: a post's id in the payload's usual places.
  const postOf = (event) => {
    const p = event.payload || {};
    if (event.kind.startsWith("checkpoint.")) return p.id ?? p.checkpoint_id;
    return p.checkpoint_id ?? p.checkpoint;
  };
  function refreshPanel(event) {
    if (open === null || Number(postOf(event)) !== open) return;
    clearTimeout(again);
    again = setTimeout(() => showPanel(open), 300);
  }
  const asked = Number(new URL(location.href).searchParams.get("post"));
  if (asked && posts.has(asked)) openPanel(asked);

  document.addEventListener("shouwang:event", (e) => {
    apply(e.detail);
    filter();
    refreshPanel(e.detail);
  });

  // Sortable table: click a column's header; again to reverse.
  const table = document.getElementById("board-table");
  table?.querySelectorAll("th[data-sort] button").forEach((button, column) => {
    button.addEventListener("click", () => {
      const th = button.parentElement;
      const numeric = th.dataset.sort === "num";
      const down = th.getAttribute("aria-sort") !== "descending";
      table.querySelectorAll("th").forEach((h) => h.removeAttribute("aria-sort"));
      th.setAttribute("aria-sort", down ? "descending" : "ascending");
      const body = table.tBodies[0];
      const rows = [...body.rows].filter((r) => r.dataset.postId);
      const key = (r) => r.cells[column].dataset.value ?? r.cells[column].textContent;
      rows.sort((a, b) => {
        const x = key(a), y = key(b);
        const c = numeric ? Number(x) - Number(y) : String(x).localeCompare(String(y), "zh-CN");
        return down ? -c : c;
      });
      body.append(...rows);
    });
  });
}
