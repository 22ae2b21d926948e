// Audio/video calls through Shouwang's own SFU, signaled over the live
// WebSocket (live.js carries the messages; see crates/server/src/calls.rs for
// the protocol). A commander starts a call from a post's "call" button; every
// officer checked in there gets a ringing screen; whoever accepts joins with
// camera and microphone. Each side can mute, turn the camera off, switch
// between front and back camera, drop to audio only, and hang up. Under
// loss the page steps down by itself — video, audio only, push-to-talk —
// and everyone in the call sees it (see "Weak links" below).

const textsEl = document.getElementById("call-texts");
const texts = JSON.parse(textsEl?.dataset.texts || "{}");
const t = (key) => texts[key] || key;

// How long a fresh media connection may take before it is tried again.
const CONNECT_WATCHDOG_MS = 12000;
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
    el("p", { class: "call-ring-title" }, msg.kind === "inspection" ? t("inspection-asks") : t("incoming")),
    el("p", { class: "call-ring-caller", "data-testid": "caller" }, msg.caller),
    el("p", { class: "muted" }, (msg.posts || []).join(" · ")),
    ...(msg.recorded ? [el("p", { class: "call-recorded", "data-testid": "recorded" }, t("recorded"))] : []),
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
  const ring = rings.get(id);
  stopRing(id);
  // Only one call at a time: accepting another leaves the one before.
  if (current && current.id !== id) hangUp();
  const role = { broadcast: "listener", inspection: "inspected" }[ring?.kind] || "party";
  enter(id, role);
}

// ---- The call screen -------------------------------------------------------

function callScreen() {
  const open = document.getElementById("call-screen");
  if (open) return open;
  const box = el("section", { class: "call-screen", id: "call-screen", "aria-label": t("in-call") });
  const status = el("p", { class: "call-status", id: "call-status", "aria-live": "polite" }, t("connecting"));
  // Shown once the server says the deployment records calls.
  const recorded = el("p", { class: "call-recorded", id: "call-recorded", hidden: "" }, t("recorded"));
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
    toggle("mute", t("mute"), t("unmute"), (muted) => current?.level === "ptt"
      ? talking(false)
      : current?.stream.getAudioTracks().forEach((tr) => (tr.enabled = !muted))),
    toggle("camera", t("camera-off"), t("camera-on"), (off) => current?.stream.getVideoTracks().forEach((tr) => (tr.enabled = !off))),
    el("button", { type: "button", id: "call-switch", onclick: switchCamera }, t("switch-camera")),
    el("button", { type: "button", id: "call-audio-only", onclick: () => current && stepTo(current, "audio") }, t("audio-only")),
    el("button", { type: "button", id: "call-raise-hand", class: "for-listener" }, t("raise-hand")),
    el("button", { type: "button", id: "call-hangup", class: "danger", onclick: hangUp }, t("hangup")),
  );
  const parties = el("ul", { class: "call-parties", id: "call-parties" });
  const talk = el("button", { type: "button", id: "call-talk", class: "call-talk" }, t("hold-to-talk"));
  for (const [ev, on] of [["pointerdown", true], ["pointerup", false], ["pointercancel", false], ["pointerleave", false]]) {
    talk.addEventListener(ev, (e) => { e.preventDefault(); talking(on); });
  }
  const network = el("div", { class: "call-network", id: "call-network", hidden: "" },
    el("p", { id: "call-network-text", role: "status" }),
    talk,
    el("button", { type: "button", id: "call-restore", onclick: restoreVideo }, t("restore")));
  box.append(status, recorded, network, grid, local, parties, controls);
  document.body.append(box);
  // The caller can ring more posts (on pages that list them: the board).
  const posts = [...document.querySelectorAll("[data-call-checkpoint]")];
  if (posts.length) {
    const select = el("select", { id: "call-add-post", "aria-label": t("add-post") },
      ...posts.map((b) => el("option", { value: b.dataset.callCheckpoint }, b.dataset.postName || b.title)));
    const add = el("button", { type: "button", id: "call-add", onclick: () => {
      if (current) send({ type: "call.invite", call: current.id, checkpoints: [Number(select.value)] });
    } }, t("add-post"));
    controls.prepend(el("span", { class: "call-add hidden-for-listener" }, select, add));
  }
  return box;
}

// Everyone in a recorded call sees that it is, for as long as it lasts.
function showRecorded(on) {
  const notice = document.getElementById("call-recorded");
  if (notice) notice.hidden = !on;
}

function setStatus(text) {
  const s = document.getElementById("call-status");
  if (s) s.textContent = text;
}

// Camera and microphone; `small` video (a broadcast to many phones on
// mountain networks) at 320×240, 15 frames a second.
async function getMedia(facing = "user", small = false) {
  const size = small ? { width: 320, height: 240, frameRate: 15 } : { width: 640, height: 480 };
  try {
    return await navigator.mediaDevices.getUserMedia({ audio: true, video: { facingMode: facing, ...size } });
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

// `role`: "party" (talks and shows video), "caller", "listener" (a post in a
// broadcast: voice only, microphone off until given the floor) or
// "inspected" (a post in an inspection: camera on, microphone off).
async function enter(id, role = "party", kind = "call") {
  const broadcast = kind === "broadcast";
  current = { id, role, broadcast, pc: null, stream: null, tiles: new Map(), names: new Map(), queue: Promise.resolve(), audioOnly: false, me: null, level: "video", link: { bad: 0 }, quality: new Map(), focus: null };
  const call = current;
  watchLink(call);
  callScreen().dataset.role = role;
  let stream;
  try {
    // A broadcast's listeners send no video; an inspection's caller only
    // looks (and speaks); the inspected show their camera at a small size.
    const voiceOnly = role === "listener" || (role === "caller" && kind === "inspection");
    stream = voiceOnly ? await navigator.mediaDevices.getUserMedia({ audio: true }) : await getMedia("user", broadcast || role === "inspected");
    if (role === "listener" || role === "inspected") stream.getAudioTracks().forEach((tr) => (tr.enabled = false));
  } catch (e) {
    setStatus(`${t("no-media")}: ${e.message}`);
    send({ type: "call.hangup", call: id });
    return;
  }
  if (current !== call) { stream.getTracks().forEach((tr) => tr.stop()); return; }
  call.stream = stream;
  document.getElementById("call-local").srcObject = stream;
  await connectMedia(call);
}

// The deployment's TURN server (`media.turn`), if it has one, with
// credentials made for this person: a phone whose network lets only web
// traffic out relays its media through it. Asked again halfway to expiry;
// with no answer, the call goes direct.
let ice = { servers: [], until: 0 };
async function iceServersFor() {
  if (Date.now() < ice.until) return ice.servers;
  try {
    const r = await fetch("/api/v1/calls/ice-servers", { credentials: "same-origin" });
    if (r.ok) {
      const body = await r.json();
      const expires = body.expires_us ? body.expires_us / 1000 : Date.now() + 20 * 60000;
      ice = { servers: body.ice_servers, until: Date.now() + (expires - Date.now()) / 2 };
    }
  } catch (e) {
    note(`no ICE servers: ${e.message}`);
  }
  return ice.servers;
}

// A peer connection for `call` with its camera and microphone, offered to
// the SFU; again after the server dropped our media (`call.dropped`).
async function connectMedia(call) {
  const { id, stream } = call;
  call.pc?.close();
  for (const video of call.tiles.values()) video.closest("figure")?.remove();
  call.tiles.clear();
  const iceServers = await iceServersFor();
  if (current !== call) return;
  const pc = new RTCPeerConnection({ bundlePolicy: "max-bundle", iceServers });
  call.pc = pc;
  // Sendonly: what others send comes on m-lines the SFU adds (stream id =
  // their key), so nothing of ours echoes back as a track.
  for (const track of stream.getTracks()) {
    const sendEncodings = encodingsFor(track);
    pc.addTransceiver(track, { direction: "sendonly", streams: [stream], ...(sendEncodings ? { sendEncodings } : {}) });
  }
  call.quality.clear();
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
  // A connection that has not come up in a while (a lost handshake packet,
  // a phone too busy to answer in time) is not waited on: join afresh
  // rather than sit on "connecting" until the server gives up on it.
  setTimeout(() => {
    if (current === call && call.pc === pc && pc.connectionState !== "connected") {
      note("media did not connect: joining again");
      queue(call, () => connectMedia(call));
    }
  }, CONNECT_WATCHDOG_MS);
}

// An ICE restart (the phone moved from Wi-Fi to 4G): a new offer, no new ring.
async function restart() {
  const call = current;
  if (!call?.pc) return;
  setStatus(t("reconnecting"));
  // Fresh TURN credentials, should the call have outlived the old ones.
  const iceServers = await iceServersFor();
  if (current !== call || !call.pc) return;
  try {
    call.pc.setConfiguration({ ...call.pc.getConfiguration(), iceServers });
  } catch (e) {
    note(`ICE servers kept: ${e.message}`);
  }
  await call.pc.setLocalDescription(await call.pc.createOffer({ iceRestart: true }));
  await gathered(call.pc);
  send({ type: "call.restart", call: call.id, sdp: call.pc.localDescription.sdp });
}

function tile(stream) {
  let t = current.tiles.get(stream);
  if (!t) {
    const video = el("video", { autoplay: "", playsinline: "" });
    const label = el("span", { class: "call-name" }, current.names.get(stream) || "");
    // A tap enlarges a tile (its sender's full-size layer) and a second
    // tap puts it back.
    const fig = el("figure", { class: "call-tile", dataset: { stream }, onclick: () => focusTile(stream) }, video, label);
    document.getElementById("call-grid").append(fig);
    tileSizes.observe(fig);
    t = video;
    current.tiles.set(stream, t);
  }
  return t;
}

// ---- Simulcast ---------------------------------------------------------------
// A camera big enough for it goes out twice, at half size ("h") and full
// ("f"), and the SFU sends each viewer the layer it asks for: the half-size
// one (320 pixels wide) for a tile that fills fewer than 400 device pixels
// across (an inspection of several posts side by side, a small screen), the
// full one otherwise, and always for a tile the user taps, which is then
// shown large. A small camera (320×240: the inspected posts) sends one layer.
const FULL_LAYER_FROM_PX = 400;
const tileSizes = new ResizeObserver(() => current && pickQualities(current));

function encodingsFor(track) {
  if (track.kind !== "video" || (track.getSettings().height || 0) < 360) return null;
  return [{ rid: "h", scaleResolutionDownBy: 2, maxBitrate: 300_000 }, { rid: "f", maxBitrate: 1_200_000 }];
}

function focusTile(stream) {
  if (!current) return;
  current.focus = current.focus === stream ? null : stream;
  for (const [s, video] of current.tiles) video.closest("figure")?.classList.toggle("focused", s === current.focus);
  pickQualities(current);
}

// Asks the SFU for the layer each tile needs, when that changed. A tile not
// laid out (the call screen hidden) keeps what it has.
function pickQualities(call) {
  if (call !== current) return;
  for (const [stream, video] of call.tiles) {
    const px = (video.closest("figure")?.clientWidth || 0) * (window.devicePixelRatio || 1);
    if (!px) continue;
    setQuality(call, stream, stream === call.focus || px >= FULL_LAYER_FROM_PX ? "high" : "low");
  }
}

function setQuality(call, stream, quality) {
  if (call.quality.get(stream) === quality) return;
  if (send({ type: "call.quality", call: call.id, stream, quality })) call.quality.set(stream, quality);
}

function showParties(parties) {
  const grid = document.getElementById("call-grid");
  if (!grid || !current) return;
  const me = parties.find((p) => p.stream && p.stream === current.me);
  // A post in a broadcast speaks only while it holds the floor.
  if (current.role === "listener" && current.stream) {
    const speaking = Boolean(me?.floor);
    current.stream.getAudioTracks().forEach((tr) => (tr.enabled = speaking));
    document.getElementById("call-screen")?.classList.toggle("has-floor", speaking);
  }
  const list = document.getElementById("call-parties");
  if (list) {
    list.replaceChildren(...parties.filter((p) => p.state === "joined" || p.state === "ringing").map((p) => {
      const li = el("li", { dataset: { user: p.user, state: p.state, mode: p.mode || "video" } }, p.name);
      if (weakLink(p)) li.append(el("span", { class: "call-mode" }, ` 📶 ${weakLink(p)}`));
      if (p.state === "ringing") li.append(" …");
      if (p.floor) li.append(el("span", { class: "call-floor" }, ` 🎙 ${t("has-floor")}`));
      if (p.hand) li.append(el("span", { class: "call-hand" }, " ✋"));
      if (current.role === "caller" && !p.caller && p.state === "joined" && current.broadcast) {
        const give = p.floor ? null : p.user;
        li.append(el("button", { type: "button", class: "call-give-floor", onclick: () =>
          send({ type: "call.floor", call: current.id, user: give }) }, p.floor ? t("take-floor") : t("give-floor")));
      }
      return li;
    }));
  }
  const inCall = new Set();
  for (const p of parties) {
    if (!p.stream) continue;
    current.names.set(p.stream, p.name);
    if (p.state === "joined") inCall.add(p.stream);
    const fig = grid.querySelector(`figure[data-stream="${p.stream}"]`);
    if (fig) {
      fig.querySelector(".call-name").textContent = weakLink(p) ? `${p.name} · ${weakLink(p)}` : p.name;
      fig.dataset.mode = p.mode || "video";
    }
  }
  // Whoever left is taken off the screen.
  for (const [stream, video] of current.tiles) {
    if (!inCall.has(stream)) {
      video.closest("figure")?.remove();
      current.tiles.delete(stream);
      current.quality.delete(stream);
      if (current.focus === stream) current.focus = null;
    }
  }
  pickQualities(current);
  const waiting = parties.filter((p) => p.state === "ringing").map((p) => p.name);
  const joined = parties.filter((p) => p.state === "joined").map((p) => p.name).join(" · ");
  setStatus(waiting.length ? `${t("ringing")}: ${waiting.join(" · ")}` : joined || t("in-call"));
}

// What a party's weak link carries, in words ("" while it has video).
const weakLink = (p) => (p.mode === "audio" || p.mode === "ptt" ? t(`mode-${p.mode}`) : "");

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
async function audioOnly(call) {
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

// ---- Weak links: video → audio only → push-to-talk -------------------------
// Every 2 s the page reads its connection's loss: what the SFU reports of
// what we send (remote-inbound-rtp fractionLost, from its receiver reports)
// and what we lose receiving. Two bad readings in a row step down once:
// 10 % loss turns video off, 25 % even on audio alone turns the microphone
// into push-to-talk (short bursts get through where a steady stream breaks
// up). Each step shows here and is sent to the others (call.network), whose
// screens show it beside the name; "Back to video" steps up again.

const LINK_WATCH_MS = 2000;
const LOSS_FOR_AUDIO = 0.10;
const LOSS_FOR_PTT = 0.25;

function watchLink(call) {
  const timer = setInterval(async () => {
    if (current !== call) { clearInterval(timer); return; }
    if (!call.pc || call.pc.connectionState !== "connected") return;
    const loss = await linkLoss(call);
    call.link.loss = loss;
    const limit = call.level === "video" ? LOSS_FOR_AUDIO : LOSS_FOR_PTT;
    call.link.bad = loss >= limit ? call.link.bad + 1 : 0;
    if (call.link.bad < 2) return;
    call.link.bad = 0;
    // A post in a broadcast or an inspection never talks freely: audio only
    // is as far as it steps.
    const next = call.level === "video" ? "audio" : call.role === "party" || call.role === "caller" ? "ptt" : null;
    if (next && next !== call.level) {
      note(`loss ${Math.round(loss * 100)} %: stepping down to ${next}`);
      await stepTo(call, next);
    }
  }, LINK_WATCH_MS);
}

// The worst loss on the link since the last reading, 0–1: of what we send,
// as the server reports it, and of what we receive. Once video is off, only
// the audio counts (the video's last report would stay behind).
async function linkLoss(call) {
  const report = await call.pc.getStats();
  let lost = 0;
  let received = 0;
  let sent = 0;
  report.forEach((r) => {
    if (call.level !== "video" && r.kind !== "audio") return;
    if (r.type === "inbound-rtp") { lost += r.packetsLost || 0; received += r.packetsReceived || 0; }
    if (r.type === "remote-inbound-rtp" && typeof r.fractionLost === "number") sent = Math.max(sent, r.fractionLost);
  });
  const last = call.link;
  const dLost = last.lost === undefined ? 0 : Math.max(0, lost - last.lost);
  const dReceived = last.received === undefined ? 0 : Math.max(0, received - last.received);
  last.lost = lost;
  last.received = received;
  const inbound = dLost + dReceived >= 20 ? dLost / (dLost + dReceived) : 0;
  return Math.max(sent, inbound);
}

// Moves `call` to `level` ("video", "audio", "ptt"), shows it, and tells
// the others.
async function stepTo(call, level) {
  if (call.level === level) return;
  if (level !== "video") await audioOnly(call);
  call.level = level;
  call.link = { bad: 0 };
  talking(false);
  const box = document.getElementById("call-network");
  const screen = document.getElementById("call-screen");
  screen?.classList.toggle("ptt", level === "ptt");
  if (box) {
    box.hidden = level === "video";
    document.getElementById("call-network-text").textContent = level === "video" ? "" : t(level === "ptt" ? "weak-ptt" : "weak-audio");
  }
  send({ type: "call.network", call: call.id, mode: level });
}

// Push-to-talk: the microphone is on only while the button is held.
function talking(on) {
  const call = current;
  if (!call?.stream) return;
  document.getElementById("call-talk")?.setAttribute("aria-pressed", String(call.level === "ptt" && on));
  // Only a party or the caller talks freely; a post in a broadcast or an
  // inspection keeps its microphone as the floor has it.
  if (call.role !== "party" && call.role !== "caller") return;
  const muted = document.getElementById("call-mute")?.getAttribute("aria-pressed") === "true";
  const open = !muted && (call.level !== "ptt" || on);
  call.stream.getAudioTracks().forEach((tr) => (tr.enabled = open));
}

// Back to video (the link has recovered, or the person wants to try): the
// camera again, the others' video shown, the microphone open.
async function restoreVideo() {
  const call = current;
  if (!call?.pc || call.level === "video") return;
  if (call.audioOnly) {
    const fresh = await getMedia(call.facing || "user", call.role === "inspected");
    const track = fresh.getVideoTracks()[0];
    fresh.getAudioTracks().forEach((tr) => tr.stop());
    const sender = call.pc.getTransceivers().find((tr) => tr.sender && tr.receiver.track?.kind === "video" && tr.direction === "sendonly")?.sender;
    if (track && sender) {
      await sender.replaceTrack(track);
      call.stream.addTrack(track);
    }
    for (const r of call.pc.getReceivers()) if (r.track.kind === "video") r.track.enabled = true;
    call.audioOnly = false;
    document.getElementById("call-screen")?.classList.remove("audio-only");
    document.getElementById("call-audio-only").setAttribute("aria-pressed", "false");
  }
  await stepTo(call, "video");
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

// What this page heard and what went wrong, for tests and diagnostics.
window.__callLog = [];
const note = (what) => { window.__callLog.push(what); if (window.__callLog.length > 50) window.__callLog.shift(); };
window.addEventListener("error", (e) => note(`error: ${e.message}`));
window.addEventListener("unhandledrejection", (e) => note(`rejected: ${e.reason}`));

document.addEventListener("shouwang:message", (e) => {
  const m = e.detail;
  note(m.type === "call.error" ? `call.error ${m.code} ${m.message}` : m.type);
  const call = current && m.call === current.id ? current : null;
  switch (m.type) {
    case "call.ring":
      if (!call) showRing(m);
      break;
    case "call.ring_stop":
      stopRing(m.call);
      break;
    case "call.started":
      enter(m.call, "caller", pendingKind);
      showParties(m.parties);
      showRecorded(m.recorded);
      break;
    case "call.answer":
      if (call) showRecorded(m.recorded);
      if (call) {
        if (m.stream) call.me = m.stream;
        queue(call, () => call.pc.setRemoteDescription({ type: "answer", sdp: m.sdp }));
      }
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
    case "call.dropped":
      // Our media stopped reaching the server (network switch, sleep): back
      // into the same call with a fresh connection, no new ring.
      if (call && call.stream) {
        setStatus(t("reconnecting"));
        queue(call, () => connectMedia(call));
      }
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

// "Call" buttons (the board, a post's page) ring that post's officers; the
// "broadcast" button rings every staffed post on the page at once.
let pendingKind = "call";
document.addEventListener("click", (e) => {
  const one = e.target.closest("[data-call-checkpoint]");
  const many = e.target.closest("[data-call-broadcast]");
  const inspect = e.target.closest("[data-call-inspect]");
  if (!one && !many && !inspect) return;
  e.preventDefault();
  if (current) return;
  let message;
  if (one) {
    message = { type: "call.start", checkpoints: [Number(one.dataset.callCheckpoint)] };
  } else if (inspect) {
    // The posts ticked in the table, their cameras side by side.
    const ticked = [...document.querySelectorAll("input[data-inspect]:checked")].map((c) => Number(c.value));
    if (!ticked.length) { alert(t("inspect-none")); return; }
    message = { type: "call.start", kind: "inspection", checkpoints: ticked };
  } else {
    const staffed = [...document.querySelectorAll("[data-call-checkpoint][data-present]")]
      .filter((b) => Number(b.dataset.present) > 0)
      .map((b) => Number(b.dataset.callCheckpoint));
    message = { type: "call.start", kind: "broadcast", checkpoints: staffed };
  }
  pendingKind = message.kind || "call";
  if (!send(message)) {
    alert(t("offline"));
    return;
  }
  callScreen();
  setStatus(t("calling"));
});

// A post in a broadcast asks to speak.
document.addEventListener("click", (e) => {
  if (!e.target.closest("#call-raise-hand") || !current) return;
  send({ type: "call.raise_hand", call: current.id });
});

// For tests and diagnostics: whether this page's microphone is on.
window.shouwangCallMicOn = () => Boolean(current?.stream?.getAudioTracks().some((tr) => tr.enabled));

// For tests and diagnostics: the call's media as the browser sees it.
window.shouwangCall = {
  get id() { return current?.id ?? null; },
  get ringing() { return [...rings.keys()]; },
  // An ICE restart, as after the phone changed networks.
  restart,
  // Pauses (or resumes) one simulcast layer this page sends, as the browser
  // does by itself when its estimate of the uplink drops.
  async sendLayer(rid, active) {
    const sender = current?.pc?.getSenders().find((s) => s.track?.kind === "video");
    const params = sender?.getParameters();
    const encoding = params?.encodings?.find((e) => e.rid === rid);
    if (!encoding) return false;
    encoding.active = active;
    await sender.setParameters(params);
    return true;
  },
  // What this page asked of each tile's stream: "low" or "high".
  get qualities() { return Object.fromEntries(current?.quality ?? []); },
  async stats() {
    const out = { audioIn: 0, videoIn: 0, framesDecoded: 0, audioOut: 0, videoOut: 0, frameWidths: {}, layersOut: [], layerWidths: {}, framesIn: { received: 0, dropped: 0, keyframes: 0, pli: 0, freezes: 0 }, state: current?.pc?.connectionState, transport: null,
      mode: current?.level ?? null, loss: current?.link?.loss ?? null, micOn: window.shouwangCallMicOn() };
    if (!current?.pc) return out;
    const report = await current.pc.getStats();
    report.forEach((r) => {
      // The transport media flows on: the selected pair's local candidate's
      // protocol ("udp", or "tcp" where UDP is blocked) and type ("host",
      // or "relay" through the TURN server, reached over `relayProtocol`).
      if (r.type === "transport" && r.selectedCandidatePairId) {
        const local = report.get(report.get(r.selectedCandidatePairId)?.localCandidateId);
        out.transport = local?.protocol ?? null;
        out.route = local?.candidateType ?? null;
        out.relayProtocol = local?.relayProtocol ?? null;
      }
      if (r.type === "inbound-rtp" && r.kind === "audio") out.audioIn += r.bytesReceived || 0;
      if (r.type === "inbound-rtp" && r.kind === "video") {
        out.videoIn += r.bytesReceived || 0;
        out.framesDecoded += r.framesDecoded || 0;
        // What a stalled picture is made of: frames that came but were not
        // decoded, keyframes, the keyframes asked for, freezes.
        out.framesIn.received += r.framesReceived || 0;
        out.framesIn.dropped += r.framesDropped || 0;
        out.framesIn.keyframes += r.keyFramesDecoded || 0;
        out.framesIn.pli += r.pliCount || 0;
        out.framesIn.freezes += r.freezeCount || 0;
        // The width of what each tile's stream decodes now, by stream id.
        const stream = [...(current.tiles.keys())].find((s) => current.tiles.get(s).srcObject?.getVideoTracks().some((tr) => tr.id === r.trackIdentifier));
        if (stream && r.frameWidth) out.frameWidths[stream] = r.frameWidth;
      }
      // The simulcast layers this page sends that are flowing.
      if (r.type === "outbound-rtp" && r.kind === "video" && r.rid && r.bytesSent > 0) out.layersOut.push(r.rid);
      // The width each layer is encoded at now (a browser short of CPU or
      // bandwidth scales its layers down).
      if (r.type === "outbound-rtp" && r.kind === "video" && r.rid && r.frameWidth) out.layerWidths[r.rid] = r.frameWidth;
      if (r.type === "outbound-rtp" && r.kind === "audio") out.audioOut += r.bytesSent || 0;
      if (r.type === "outbound-rtp" && r.kind === "video") out.videoOut += r.bytesSent || 0;
    });
    return out;
  },
};
