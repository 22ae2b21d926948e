// Audio/video calls through Shouwang's own SFU, signaled over the live
// WebSocket (live.js carries the messages; see crates/server/src/calls.rs for
// the protocol). A commander starts a call from a post's "call" button; every
// officer checked in there gets a ringing screen; whoever accepts joins with
// camera and microphone. Each side can mute, turn the camera off, switch
// between front and back camera, drop to audio only, and hang up.

const textsEl = document.getElementById("call-texts");
const texts = JSON.parse(textsEl?.dataset.texts || "{}");
const t = (key) => texts[key] || key;

const send = (msg) => window.shouwangLive?.send(msg) ?? false;

// The call this page is in or being rung for, if any.
let current = null;
// Rings not yet answered: call id → message.
const rings = new Map();
let ringtone = null;

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "dataset") Object.assign(e.dataset, v);
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  e.append(...children);
  return e;
}

// ---- Ringing -------------------------------------------------------------

function startRingtone() {
  if (ringtone) return;
  try {
    const ctx = new AudioContext();
    const beep = () => {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.frequency.value = 880;
      gain.gain.value = 0.2;
      osc.connect(gain).connect(ctx.destination);
      osc.start();
      osc.stop(ctx.currentTime + 0.4);
    };
    beep();
    ringtone = { ctx, timer: setInterval(beep, 1500) };
  } catch {
    ringtone = null; // no audio before a tap on some phones; the screen still rings
  }
  navigator.vibrate?.([400, 200, 400]);
}

function stopRingtone() {
  if (!ringtone) return;
  clearInterval(ringtone.timer);
  ringtone.ctx.close();
  ringtone = null;
}

function showRing(msg) {
  rings.set(msg.call, msg);
  document.getElementById(`ring-${msg.call}`)?.remove();
  const box = el(
    "div",
    { class: "call-ring", id: `ring-${msg.call}`, role: "alertdialog", "aria-live": "assertive", dataset: { call: msg.call } },
    el("p", { class: "call-ring-title" }, t("incoming")),
    el("p", { class: "call-ring-caller", "data-testid": "caller" }, msg.caller),
    el("p", { class: "muted" }, (msg.posts || []).join(" · ")),
    el(
      "div",
      { class: "call-ring-buttons" },
      el("button", { type: "button", class: "call-accept", onclick: () => accept(msg.call) }, t("accept")),
      el("button", { type: "button", class: "call-decline danger", onclick: () => decline(msg.call) }, t("decline")),
    ),
  );
  document.body.append(box);
  startRingtone();
}

function stopRing(id) {
  rings.delete(id);
  document.getElementById(`ring-${id}`)?.remove();
  if (rings.size === 0) stopRingtone();
}

function decline(id) {
  send({ type: "call.decline", call: id });
  stopRing(id);
}

function accept(id) {
  stopRing(id);
  // Only one call at a time: accepting another leaves the one before.
  if (current && current.id !== id) hangUp();
  enter(id);
}

// ---- The call screen -------------------------------------------------------

function callScreen() {
  const open = document.getElementById("call-screen");
  if (open) return open;
  const box = el("section", { class: "call-screen", id: "call-screen", "aria-label": t("in-call") });
  const status = el("p", { class: "call-status", id: "call-status", "aria-live": "polite" }, t("connecting"));
  const grid = el("div", { class: "call-grid", id: "call-grid" });
  const local = el("video", { class: "call-local", id: "call-local", autoplay: "", playsinline: "", muted: "" });
  local.muted = true;
  const toggle = (name, on, off, act) =>
    el("button", { type: "button", id: `call-${name}`, "aria-pressed": "false", onclick: (e) => {
      const pressed = e.currentTarget.getAttribute("aria-pressed") !== "true";
      e.currentTarget.setAttribute("aria-pressed", String(pressed));
      e.currentTarget.textContent = pressed ? off : on;
      act(pressed);
    } }, on);
  const controls = el(
    "div",
    { class: "call-controls" },
    toggle("mute", t("mute"), t("unmute"), (muted) => current?.stream.getAudioTracks().forEach((tr) => (tr.enabled = !muted))),
    toggle("camera", t("camera-off"), t("camera-on"), (off) => current?.stream.getVideoTracks().forEach((tr) => (tr.enabled = !off))),
    el("button", { type: "button", id: "call-switch", onclick: switchCamera }, t("switch-camera")),
    el("button", { type: "button", id: "call-audio-only", onclick: audioOnly }, t("audio-only")),
    el("button", { type: "button", id: "call-hangup", class: "danger", onclick: hangUp }, t("hangup")),
  );
  box.append(status, grid, local, controls);
  document.body.append(box);
  return box;
}

function setStatus(text) {
  const s = document.getElementById("call-status");
  if (s) s.textContent = text;
}

async function getMedia(facing = "user") {
  try {
    return await navigator.mediaDevices.getUserMedia({ audio: true, video: { facingMode: facing, width: 640, height: 480 } });
  } catch {
    // No camera (or refused): a call with the voice alone still works.
    return await navigator.mediaDevices.getUserMedia({ audio: true });
  }
}

// Waits until the browser has its ICE candidates in the description (it
// is offered once, not trickled), at most a moment.
function gathered(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => { if (pc.iceGatheringState === "complete") resolve(); };
    pc.addEventListener("icegatheringstatechange", done);
    setTimeout(resolve, 2000);
  });
}

async function enter(id) {
  current = { id, pc: null, stream: null, tiles: new Map(), names: new Map(), queue: Promise.resolve(), audioOnly: false };
  const call = current;
  callScreen();
  let stream;
  try {
    stream = await getMedia();
  } catch (e) {
    setStatus(`${t("no-media")}: ${e.message}`);
    send({ type: "call.hangup", call: id });
    return;
  }
  if (current !== call) { stream.getTracks().forEach((tr) => tr.stop()); return; }
  call.stream = stream;
  document.getElementById("call-local").srcObject = stream;
  const pc = new RTCPeerConnection({ bundlePolicy: "max-bundle" });
  call.pc = pc;
  // Sendonly: what others send comes on m-lines the SFU adds (stream id =
  // their key), so nothing of ours echoes back as a track.
  for (const track of stream.getTracks()) pc.addTransceiver(track, { direction: "sendonly", streams: [stream] });
  pc.ontrack = (ev) => {
    const s = ev.streams[0] || new MediaStream([ev.track]);
    tile(s.id).srcObject = s;
    ev.track.onunmute = () => tile(s.id).play?.().catch(() => {});
  };
  pc.onconnectionstatechange = () => {
    if (pc.connectionState === "connected") setStatus(t("in-call"));
    if (pc.connectionState === "disconnected") setStatus(t("reconnecting"));
    if (pc.connectionState === "failed") restart();
  };
  await pc.setLocalDescription(await pc.createOffer());
  await gathered(pc);
  send({ type: "call.join", call: id, sdp: pc.localDescription.sdp });
}

// An ICE restart (the phone moved from Wi-Fi to 4G): a new offer, no new ring.
async function restart() {
  const call = current;
  if (!call?.pc) return;
  setStatus(t("reconnecting"));
  await call.pc.setLocalDescription(await call.pc.createOffer({ iceRestart: true }));
  await gathered(call.pc);
  send({ type: "call.restart", call: call.id, sdp: call.pc.localDescription.sdp });
}

function tile(stream) {
  let t = current.tiles.get(stream);
  if (!t) {
    const video = el("video", { autoplay: "", playsinline: "" });
    const label = el("span", { class: "call-name" }, current.names.get(stream) || "");
    const fig = el("figure", { class: "call-tile", dataset: { stream } }, video, label);
    document.getElementById("call-grid").append(fig);
    t = video;
    current.tiles.set(stream, t);
  }
  return t;
}

function showParties(parties) {
  const grid = document.getElementById("call-grid");
  if (!grid || !current) return;
  const inCall = new Set();
  for (const p of parties) {
    if (!p.stream) continue;
    current.names.set(p.stream, p.name);
    if (p.state === "joined") inCall.add(p.stream);
    const fig = grid.querySelector(`figure[data-stream="${p.stream}"]`);
    if (fig) fig.querySelector(".call-name").textContent = p.name;
  }
  // Whoever left is taken off the screen.
  for (const [stream, video] of current.tiles) {
    if (!inCall.has(stream)) {
      video.closest("figure")?.remove();
      current.tiles.delete(stream);
    }
  }
  const waiting = parties.filter((p) => p.state === "ringing").map((p) => p.name);
  const list = parties.filter((p) => p.state === "joined").map((p) => p.name).join(" · ");
  setStatus(waiting.length ? `${t("ringing")}: ${waiting.join(" · ")}` : list || t("in-call"));
}

async function switchCamera() {
  const call = current;
  if (!call?.pc || call.audioOnly) return;
  call.facing = call.facing === "environment" ? "user" : "environment";
  const fresh = await navigator.mediaDevices.getUserMedia({ video: { facingMode: call.facing } });
  const track = fresh.getVideoTracks()[0];
  const sender = call.pc.getSenders().find((s) => s.track?.kind === "video");
  await sender?.replaceTrack(track);
  call.stream.getVideoTracks().forEach((tr) => { tr.stop(); call.stream.removeTrack(tr); });
  call.stream.addTrack(track);
}

// Drops video for a weak mountain network: the camera stops and only the
// voice is sent; others' video is no longer shown either.
async function audioOnly() {
  const call = current;
  if (!call?.pc || call.audioOnly) return;
  call.audioOnly = true;
  for (const sender of call.pc.getSenders()) {
    if (sender.track?.kind === "video") {
      sender.track.stop();
      await sender.replaceTrack(null);
    }
  }
  for (const r of call.pc.getReceivers()) if (r.track.kind === "video") r.track.enabled = false;
  document.getElementById("call-screen")?.classList.add("audio-only");
  document.getElementById("call-audio-only").setAttribute("aria-pressed", "true");
}

function leaveScreen(note) {
  const call = current;
  current = null;
  if (call) {
    call.pc?.close();
    call.stream?.getTracks().forEach((tr) => tr.stop());
  }
  const box = document.getElementById("call-screen");
  if (!box) return;
  if (note) {
    box.querySelector(".call-controls")?.remove();
    setStatus(note);
    setTimeout(() => box.remove(), 3000);
  } else {
    box.remove();
  }
}

function hangUp() {
  if (current) send({ type: "call.hangup", call: current.id });
  leaveScreen(t("ended"));
}

// ---- Messages from the server ----------------------------------------------

function queue(call, work) {
  call.queue = call.queue.then(work).catch((e) => setStatus(e.message));
}

document.addEventListener("shouwang:message", (e) => {
  const m = e.detail;
  const call = current && m.call === current.id ? current : null;
  switch (m.type) {
    case "call.ring":
      if (!call) showRing(m);
      break;
    case "call.ring_stop":
      stopRing(m.call);
      break;
    case "call.started":
      enter(m.call);
      showParties(m.parties);
      break;
    case "call.answer":
      if (call) queue(call, () => call.pc.setRemoteDescription({ type: "answer", sdp: m.sdp }));
      break;
    case "call.offer":
      if (call) {
        queue(call, async () => {
          await call.pc.setRemoteDescription({ type: "offer", sdp: m.sdp });
          await call.pc.setLocalDescription(await call.pc.createAnswer());
          send({ type: "call.sdp_answer", call: call.id, sdp: call.pc.localDescription.sdp });
        });
      }
      break;
    case "call.parties":
      if (call) showParties(m.parties);
      break;
    case "call.ended":
      stopRing(m.call);
      if (call) leaveScreen(t(`outcome-${m.outcome || "ended"}`));
      break;
    case "call.error":
      if (!m.call || call) {
        const pending = document.getElementById("call-screen");
        if (pending) setStatus(m.message);
        else alert(m.message);
        if (!call?.pc) leaveScreen(m.message);
      }
      break;
  }
});

// "Call" buttons (the board, a post's page): ring that post's officers.
document.addEventListener("click", (e) => {
  const button = e.target.closest("[data-call-checkpoint]");
  if (!button) return;
  e.preventDefault();
  if (current) return;
  if (!send({ type: "call.start", checkpoints: [Number(button.dataset.callCheckpoint)] })) {
    alert(t("offline"));
    return;
  }
  callScreen();
  setStatus(t("calling"));
});

// For tests and diagnostics: the call's media as the browser sees it.
window.shouwangCall = {
  get id() { return current?.id ?? null; },
  get ringing() { return [...rings.keys()]; },
  async stats() {
    const out = { audioIn: 0, videoIn: 0, framesDecoded: 0, audioOut: 0, videoOut: 0, state: current?.pc?.connectionState };
    if (!current?.pc) return out;
    (await current.pc.getStats()).forEach((r) => {
      if (r.type === "inbound-rtp" && r.kind === "audio") out.audioIn += r.bytesReceived || 0;
      if (r.type === "inbound-rtp" && r.kind === "video") { out.videoIn += r.bytesReceived || 0; out.framesDecoded += r.framesDecoded || 0; }
      if (r.type === "outbound-rtp" && r.kind === "audio") out.audioOut += r.bytesSent || 0;
      if (r.type === "outbound-rtp" && r.kind === "video") out.videoOut += r.bytesSent || 0;
    });
    return out;
  },
};
