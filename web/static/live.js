// Live updates for any page with a feed: one WebSocket to /api/v1/live,
// resumed from the last event id seen, so a dropped connection (a tunnel, a
// weak mountain signal) replays what it missed instead of losing it.
const feed = document.getElementById("event-feed");
const status = document.getElementById("live-status");
const labels = feed ? JSON.parse(feed.dataset.kinds || "{}") : {};
const words = feed ? JSON.parse(feed.dataset.words || "{}") : {};
const texts = status ? JSON.parse(status.dataset.texts || "{}") : {};
const offsetHours = Number(document.documentElement.dataset.utcOffset || 8);
let lastId = Number(feed?.dataset.liveAfter || 0);
let retryMs = 1000;

function showState(state) {
  if (!status) return;
  status.hidden = false;
  status.dataset.state = state;
  status.textContent = texts[state] || state;
}

function formatTime(us) {
  const d = new Date(us / 1000 + offsetHours * 3600 * 1000);
  return d.toISOString().slice(0, 19).replace("T", " ");
}

// What an event says, in a line: the post and what changed at it.
function summary(event) {
  const p = event.payload || {};
  if (p.body) return p.body;
  const post = [p.code, p.name].filter(Boolean).join(" ");
  const item = (key) => words.items?.[key] || key;
  const unit = (key, fallback) => words.units?.[key] || fallback || "";
  const staffing = (s) => words.staffing?.[s] || s;
  switch (event.kind) {
    case "checkpoint.staffing_changed":
      return `${post}: ${staffing(p.previous)} → ${staffing(p.staffing)} (${p.present}/${p.required})`;
    case "supply.low_stock":
      return `${post}: ${item(p.item)} ${p.on_hand}/${p.threshold} ${unit(p.item, p.unit)}`;
    case "supply.moved": {
      // receipt +n, consumption −n, a count sets the level.
      const change = { receipt: `+${p.quantity} → `, consumption: `−${p.quantity} → ` }[p.kind] || "= ";
      return `${p.code}: ${item(p.item)} ${change}${p.on_hand} ${unit(p.item, p.unit)}`;
    }
    case "resupply.requested":
    case "resupply.approved":
    case "resupply.rejected":
    case "resupply.dispatched":
    case "resupply.received":
      return `${post}: ${item(p.item)} × ${p.approved_quantity ?? p.quantity}`;
    case "screening.recorded":
      // "ZYG-01 …: 3 (screenings)"
      return `${post}: ${p.count} ${words.screenings || ""}`.trim();
    case "incident.opened": {
      const what = words.incidents?.[p.kind] || p.kind;
      const temperature = p.temperature_dc ? ` ${(p.temperature_dc / 10).toFixed(1)}℃` : "";
      return `${post}: ${what}${temperature}`;
    }
    default:
      return post;
  }
}

function render(event) {
  if (!feed) return;
  feed.querySelector(".empty")?.remove();
  const li = document.createElement("li");
  li.dataset.eventId = event.id;
  li.dataset.kind = event.kind;
  li.dataset.subject = event.subject;
  li.className = "fresh";
  const time = document.createElement("time");
  time.textContent = formatTime(event.at_us);
  const kind = document.createElement("span");
  kind.className = "kind";
  kind.textContent = labels[event.kind] || event.kind;
  const actor = document.createElement("span");
  actor.className = "actor";
  actor.textContent = event.actor_name;
  li.append(time, " ", kind, " ", actor);
  const text = summary(event);
  if (text) {
    const body = document.createElement("span");
    body.className = "body";
    body.textContent = " " + text;
    li.append(body);
  }
  feed.prepend(li);
  while (feed.children.length > 50) feed.lastElementChild.remove();
}

// A duty officer's pages say "my phone is here" every so often, so that HQ
// can tell a post whose phones all fell silent ("no signal").
const heartbeat = document.getElementById("heartbeat");
const heartbeatMs = Number(heartbeat?.dataset.seconds || 0) * 1000;

// The open connection, for other modules to send on (call.js).
let socket = null;
window.shouwangLive = {
  send(message) {
    if (socket?.readyState !== WebSocket.OPEN) return false;
    socket.send(JSON.stringify(message));
    return true;
  },
};

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  // A page without a feed needs no replay: it only listens from now on.
  const resume = feed ? `?after=${lastId}` : "";
  const ws = new WebSocket(`${scheme}://${location.host}/api/v1/live${resume}`);
  let beating = null;
  ws.onopen = () => {
    retryMs = 1000;
    showState("online");
    if (heartbeatMs > 0) {
      const beat = () => { if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "heartbeat" })); };
      beat();
      beating = setInterval(beat, heartbeatMs);
    }
  };
  socket = ws;
  ws.onmessage = (msg) => {
    const data = JSON.parse(msg.data);
    if (data.type === "event" && data.event.id > lastId) {
      lastId = data.event.id;
      render(data.event);
      document.dispatchEvent(new CustomEvent("shouwang:event", { detail: data.event }));
    } else if (data.type !== "event") {
      // Call signaling and other messages, for the modules that want them.
      document.dispatchEvent(new CustomEvent("shouwang:message", { detail: data }));
    }
  };
  ws.onclose = (e) => {
    clearInterval(beating);
    if (e.code === 4001) { location.href = "/login"; return; }
    showState("reconnecting");
    // Exponential backoff with jitter, capped at 30 s.
    const wait = Math.min(retryMs, 30000) * (0.5 + Math.random());
    retryMs *= 2;
    setTimeout(connect, wait);
  };
}

if (feed) {
  // The events the page came with, oldest first, then the live ones.
  for (const event of JSON.parse(feed.dataset.events || "[]")) render(event);
  feed.querySelectorAll("li.fresh").forEach((li) => li.classList.remove("fresh"));
  connect();
} else if (heartbeatMs > 0 || document.querySelector("[data-refresh-on]")) {
  // A phone page that reports its presence, or a page with parts kept
  // current from the stream (orders.js): listen from now on.
  connect();
}
