// Live updates for any page with a feed: one WebSocket to /api/v1/live,
// resumed from the last event id seen, so a dropped connection (a tunnel, a
// weak mountain signal) replays what it missed instead of losing it.
const feed = document.getElementById("event-feed");
const status = document.getElementById("live-status");
const labels = feed ? JSON.parse(feed.dataset.kinds || "{}") : {};
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

function render(event) {
  if (!feed) return;
  feed.querySelector(".empty")?.remove();
  const li = document.createElement("li");
  li.dataset.eventId = event.id;
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
  const text = event.payload?.body || event.payload?.name;
  if (text) {
    const body = document.createElement("span");
    body.className = "body";
    body.textContent = " " + text;
    li.append(body);
  }
  feed.prepend(li);
  while (feed.children.length > 50) feed.lastElementChild.remove();
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${scheme}://${location.host}/api/v1/live?after=${lastId}`);
  ws.onopen = () => { retryMs = 1000; showState("online"); };
  ws.onmessage = (msg) => {
    const data = JSON.parse(msg.data);
    if (data.type === "event" && data.event.id > lastId) {
      lastId = data.event.id;
      render(data.event);
      document.dispatchEvent(new CustomEvent("shouwang:event", { detail: data.event }));
    }
  };
  ws.onclose = (e) => {
    if (e.code === 4001) { location.href = "/login"; return; }
    showState("reconnecting");
    // Exponential backoff with jitter, capped at 30 s.
    const wait = Math.min(retryMs, 30000) * (0.5 + Math.random());
    retryMs *= 2;
    setTimeout(connect, wait);
  };
}

if (feed) connect();
