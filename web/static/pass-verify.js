// Verifies freight passes on the officer's phone (/passes/verify), with or
// without a connection.
//
// A token is base32 of the pass's claims and the deployment's Ed25519
// signature over them (layout: crates/domain/src/pass.rs). The page checks
// the signature with WebCrypto against the deployment's public key, then the
// revocation list, the validity window, the plate and the post, in the same
// order as the server. The key, the revocation list and the tokens of passes
// valid at the officer's post are kept in localStorage and refreshed when
// the page loads, when the network comes back, when the page comes to the
// front and every five minutes while it is open, so a scanned token or a
// typed number is decided with no network from a list as fresh as the last
// moment online; online, the server is asked as well and has the last word.

const root = document.getElementById('pass-verify');
const texts = JSON.parse(root.dataset.texts);
const postId = root.dataset.postId ? Number(root.dataset.postId) : null;
const storeKey = `shouwang.passes.${root.dataset.user}`;
const csrf = document.querySelector('meta[name="csrf-token"]')?.content ?? '';
/** Times in the page's language, not the browser's. */
const when = (us) => new Date(us / 1000).toLocaleString(document.documentElement.lang || undefined);

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const CARGO = ['production_materials', 'living_supplies', 'medical_supplies', 'agricultural_inputs', 'none'];

function base32Decode(text, alphabet) {
  const out = [];
  let buffer = 0;
  let bits = 0;
  for (const c of text) {
    const v = alphabet.indexOf(c);
    if (v < 0) return null;
    buffer = ((buffer << 5) | v) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((buffer >> bits) & 0xff);
    }
  }
  return new Uint8Array(out);
}

function base32Encode(bytes, alphabet) {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const b of bytes) {
    buffer = ((buffer << 8) | b) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += alphabet[(buffer >> bits) & 31];
    }
  }
  if (bits > 0) out += alphabet[(buffer << (5 - bits)) & 31];
  return out;
}

function base64urlDecode(text) {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/');
  return Uint8Array.from(atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4)), (c) => c.charCodeAt(0));
}

/** The token as scanned or pasted, normalised like the server does. */
function normaliseToken(raw) {
  return raw.replace(/[\s=]/g, '').toUpperCase();
}

/** A typed pass number in its stored form (`7K3M9QP2`), or null. */
function normaliseNumber(raw) {
  const s = raw.replace(/[\s\-－]/g, '').toUpperCase().replace(/O/g, '0').replace(/[IL]/g, '1');
  return /^[0-9A-HJKMNP-TV-Z]{8}$/.test(s) ? s : null;
}

function normalisePlate(raw) {
  return raw
    .replace(/[\uFF01-\uFF5E]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0))
    .replace(/[\s·•・-]/g, '')
    .toUpperCase();
}

/** Splits a token into its claims, the signed bytes and the signature. */
function parseToken(token) {
  const bytes = base32Decode(token, BASE32);
  if (!bytes || bytes.length <= 64) return null;
  const payload = bytes.slice(0, bytes.length - 64);
  const signature = bytes.slice(bytes.length - 64);
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  let at = 0;
  const need = (n) => {
    if (at + n > payload.length) throw new Error('short');
  };
  const u8 = () => (need(1), payload[at++]);
  const u32 = () => (need(4), (at += 4), view.getUint32(at - 4));
  const i64 = () => (need(8), (at += 8), Number(view.getBigInt64(at - 8)));
  const str8 = () => {
    const n = u8();
    need(n);
    at += n;
    return utf8.decode(payload.slice(at - n, at));
  };
  try {
    if (u8() !== 1) return null;
    need(5);
    const number = base32Encode(payload.slice(at, at + 5), CROCKFORD);
    at += 5;
    const claims = { number, issued_us: i64(), valid_from_us: i64(), valid_until_us: i64() };
    claims.origin = String(u32()).padStart(6, '0');
    claims.destination = String(u32()).padStart(6, '0');
    claims.cargo = CARGO[u8()];
    claims.plates = Array.from({ length: u8() }, str8);
    claims.driver_name = str8();
    claims.driver_phone = str8();
    claims.enterprise = str8();
    claims.scope = str8();
    claims.posts = Array.from({ length: u8() }, u32);
    if (at !== payload.length || !claims.cargo || claims.plates.length === 0) return null;
    return { claims, payload, signature };
  } catch {
    return null;
  }
}

function load() {
  try {
    return JSON.parse(localStorage.getItem(storeKey)) ?? {};
  } catch {
    return {};
  }
}

let cache = load();
cache.public_key = cache.public_key ?? root.dataset.publicKey;

async function getJson(path) {
  const res = await fetch(path, { headers: { accept: 'application/json' }, credentials: 'same-origin' });
  if (!res.ok) throw new Error(`${path}: ${res.status}`);
  return res.json();
}

/** Refreshes the key, the revocation list and the post's tokens. */
async function sync() {
  const [key, revoked, tokens] = await Promise.all([
    getJson('/api/v1/passes/key'),
    getJson('/api/v1/passes/revocations'),
    postId ? getJson(`/api/v1/passes/tokens?checkpoint_id=${postId}`) : Promise.resolve(null),
  ]);
  cache = {
    public_key: key.public_key,
    revoked: revoked.revoked.map((r) => r.number.replace('-', '')),
    post: tokens ? { id: tokens.checkpoint_id, scope: tokens.scope } : null,
    tokens: tokens ? tokens.tokens : [],
    synced_us: revoked.synced_us,
  };
  localStorage.setItem(storeKey, JSON.stringify(cache));
}

function showSync() {
  const line = document.getElementById('pv-sync');
  if (!cache.synced_us) {
    line.textContent = texts['never-synced'];
    return;
  }
  const at = when(cache.synced_us);
  line.textContent = texts.synced
    .replace('{at}', at)
    .replace('{count}', String(cache.tokens?.length ?? 0))
    .replace('{revoked}', String(cache.revoked?.length ?? 0));
}

let publicKey = null;
async function importKey() {
  if (publicKey || !crypto?.subtle || !cache.public_key) return publicKey;
  try {
    publicKey = await crypto.subtle.importKey('raw', base64urlDecode(cache.public_key), { name: 'Ed25519' }, false, [
      'verify',
    ]);
  } catch {
    publicKey = null;
  }
  return publicKey;
}

/** The verdict on `token` here and now, or null when this phone cannot tell. */
async function decide(token, plate) {
  const key = await importKey();
  if (!key) return null;
  const parsed = parseToken(token);
  if (!parsed) return { verdict: 'forged' };
  const good = await crypto.subtle.verify({ name: 'Ed25519' }, key, parsed.signature, parsed.payload);
  if (!good) return { verdict: 'forged' };
  const c = parsed.claims;
  const now = Date.now() * 1000;
  const post = cache.post && postId === cache.post.id ? cache.post : null;
  let verdict = 'valid';
  if ((cache.revoked ?? []).includes(c.number)) verdict = 'revoked';
  else if (now < c.valid_from_us) verdict = 'not_yet_valid';
  else if (now >= c.valid_until_us) verdict = 'expired';
  else if (plate && !c.plates.includes(plate)) verdict = 'wrong_plate';
  else if (post && !(c.posts.length ? c.posts.includes(post.id) : post.scope.startsWith(c.scope))) {
    verdict = 'not_for_this_post';
  }
  return { verdict, claims: c };
}

/** The cached token of a typed number, if this post keeps it. */
function cachedToken(number) {
  return (cache.tokens ?? []).find((t) => parseToken(t)?.claims.number === number) ?? null;
}

/** How long the server may take before the phone's own verdict stands: a
 * link that drops packets must not keep a lorry waiting. */
const SERVER_WAIT_MS = 5000;

async function askServer(body) {
  const res = await fetch('/api/v1/passes/verify', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', accept: 'application/json', 'x-csrf-token': csrf },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(SERVER_WAIT_MS),
  });
  if (res.status >= 500) throw new Error(`verify: ${res.status}`);
  const answer = await res.json();
  // A refused field is the officer's to fix; any other refusal (signed out,
  // say) leaves the verdict to the phone.
  if (!res.ok && !answer.error?.field) throw new Error(`verify: ${res.status}`);
  return answer;
}

/** Puts the server's refusal of a field beside it: `plate`, or else the
 * token or number field. */
function showFieldError(error) {
  const id = error.field === 'plate' ? 'pv-plate' : 'pv-input';
  const field = document.getElementById(id);
  const p = document.createElement('p');
  p.className = 'field-error';
  p.id = `${id}-error`;
  p.textContent = error.message;
  field.setAttribute('aria-invalid', 'true');
  field.setAttribute('aria-describedby', p.id);
  field.after(p);
}

function clearFieldErrors() {
  for (const p of document.querySelectorAll('#pv-form .field-error')) p.remove();
  for (const f of document.querySelectorAll('#pv-form [aria-invalid]')) {
    f.removeAttribute('aria-invalid');
    f.removeAttribute('aria-describedby');
  }
}

function show(result, how) {
  const box = document.getElementById('pv-result');
  box.hidden = false;
  box.dataset.verdict = result.verdict ?? 'error';
  box.classList.toggle('pv-valid', result.verdict === 'valid');
  box.classList.toggle('pv-invalid', result.verdict !== 'valid');
  document.getElementById('pv-verdict').textContent =
    result.reason ?? texts[result.verdict] ?? result.error?.message ?? result.verdict;
  document.getElementById('pv-how').textContent = how;
  const facts = document.getElementById('pv-facts');
  facts.replaceChildren();
  const c = result.claims ?? result.pass;
  // The plates in large characters, to hold against the vehicle's.
  document.getElementById('pv-plates').replaceChildren(
    ...(c?.plates ?? []).map((p) => {
      const span = document.createElement('span');
      span.className = 'pass-plate';
      span.textContent = p;
      return span;
    }),
  );
  if (c) {
    const number = c.number.includes('-') ? c.number : `${c.number.slice(0, 4)}-${c.number.slice(4)}`;
    const rows = [
      ['#', number],
      ['🏭', c.enterprise],
      ['👤', c.driver_name],
      ['🕒', `${when(c.valid_from_us)} – ${when(c.valid_until_us)}`],
    ];
    for (const [k, v] of rows) {
      const dt = document.createElement('dt');
      dt.textContent = k;
      const dd = document.createElement('dd');
      dd.textContent = v;
      facts.append(dt, dd);
    }
  }
  // On a phone the answer lands below the fold: bring it up.
  box.scrollIntoView({ block: 'nearest' });
}

/** Counts checks, so that a slow answer to an earlier one is dropped. */
let checks = 0;

async function check(event) {
  event.preventDefault();
  // The last verdict goes at once: it was for the vehicle before this one.
  document.getElementById('pv-result').hidden = true;
  clearFieldErrors();
  const mine = ++checks;
  const raw = document.getElementById('pv-input').value;
  const plateRaw = document.getElementById('pv-plate').value;
  const plate = plateRaw.trim() ? normalisePlate(plateRaw) : null;
  const number = normaliseNumber(raw);
  let token = number ? cachedToken(number) : normaliseToken(raw);
  if (!raw.trim()) return;
  const local = token ? await decide(token, plate) : null;
  const body = { plate: plate ?? undefined, checkpoint_id: postId ?? undefined };
  if (number) body.number = number;
  else body.token = token;
  let server = null;
  try {
    server = await askServer(body);
  } catch {
    // No connection (or too slow a one): the phone decides alone.
  }
  if (mine !== checks) return;
  if (server?.error?.field) showFieldError(server.error);
  else if (server) show(server, texts.online);
  else if (local) show(local, texts.offline);
  else if (number && !token) show({ verdict: 'unknown', reason: texts['not-cached'] }, texts.offline);
  else show({ verdict: 'unknown', reason: texts['no-crypto'] }, texts.offline);
}

async function scan() {
  const video = document.getElementById('pv-video');
  const button = document.getElementById('pv-scan');
  if (video.srcObject) {
    video.srcObject.getTracks().forEach((t) => t.stop());
    video.srcObject = null;
    video.hidden = true;
    button.textContent = texts.scan;
    return;
  }
  const detector = new window.BarcodeDetector({ formats: ['qr_code'] });
  video.srcObject = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
  video.hidden = false;
  button.textContent = texts.stop;
  await video.play();
  const tick = async () => {
    if (!video.srcObject) return;
    const found = await detector.detect(video).catch(() => []);
    if (found.length) {
      document.getElementById('pv-input').value = found[0].rawValue;
      await scan();
      document.getElementById('pv-form').requestSubmit();
      return;
    }
    setTimeout(tick, 250);
  };
  tick();
}

document.getElementById('pv-form').addEventListener('submit', check);
if ('BarcodeDetector' in window && navigator.mediaDevices?.getUserMedia) {
  const button = document.getElementById('pv-scan');
  button.hidden = false;
  button.addEventListener('click', () => scan().catch(() => show({ verdict: 'unknown', reason: texts['no-camera'] }, '')));
}
showSync();
if (!crypto?.subtle) document.getElementById('pv-sync').textContent += ` ${texts['no-crypto']}`;
let syncing = null;
/** Fetches the lists again unless a fetch is under way; offline it fails and the kept lists stay. */
function resync() {
  syncing ??= sync()
    .then(showSync)
    .catch(() => showSync())
    .finally(() => {
      root.dataset.synced = cache.synced_us ? 'true' : 'false';
      syncing = null;
    });
  return syncing;
}
resync();
// A pass revoked while the phone was out of signal is refused offline as
// soon as the phone has been back online for a moment.
window.addEventListener('online', resync);
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible') resync();
});
setInterval(resync, 5 * 60 * 1000);
