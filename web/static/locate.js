// Where the phone is, for a check-in or an acknowledgement.

/** Resolves with `{lat, lon}` (6 decimals) or `null` when the phone cannot
 * tell within `waitMs` (denied, no fix, no GPS, a prompt left unanswered). */
export function position(waitMs = 10000) {
  if (!("geolocation" in navigator)) return Promise.resolve(null);
  return new Promise((resolve) => {
    let done = false;
    const finish = (value) => {
      if (done) return;
      done = true;
      clearTimeout(fallback);
      resolve(value);
    };
    // A permission prompt left unanswered never calls back: do not wait.
    const fallback = setTimeout(() => finish(null), waitMs + 5000);
    navigator.geolocation.getCurrentPosition(
      (pos) => finish({ lat: Number(pos.coords.latitude.toFixed(6)), lon: Number(pos.coords.longitude.toFixed(6)) }),
      () => finish(null),
      { enableHighAccuracy: true, timeout: waitMs, maximumAge: 30000 },
    );
  });
}

/** A form posted to the server with where the phone is: on submit, ask for
 * the position (no longer than `waitMs`), fill the form's `lat` and `lon`,
 * then send it. Without a position the form goes anyway. A double tap sends
 * once; `waiting(true)` marks the wait, `waiting(false)` its end when the
 * page comes back from the history (bfcache). */
export function sendWithPosition(form, { waitMs = 10000, waiting = () => {} } = {}) {
  if (!form || !("geolocation" in navigator)) return;
  let sending = false;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (sending) return;
    sending = true;
    waiting(true);
    const pos = await position(waitMs);
    if (pos) {
      form.elements.lat.value = pos.lat.toFixed(6);
      form.elements.lon.value = pos.lon.toFixed(6);
    }
    form.submit();
  });
  window.addEventListener("pageshow", () => {
    sending = false;
    waiting(false);
  });
}
