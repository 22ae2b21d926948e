// A form sent with where the phone is: on submit, ask for the position
// (no longer than `waitMs`), fill the form's `lat` and `lon`, then send it.
// Without a position (denied, no fix, no GPS) the form goes anyway. A double
// tap sends once; `waiting(true)` marks the wait, `waiting(false)` its end
// when the page comes back from the history (bfcache).
export function sendWithPosition(form, { waitMs = 10000, waiting = () => {} } = {}) {
  if (!form || !("geolocation" in navigator)) return;
  let sending = false;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (sending) return;
    sending = true;
    waiting(true);
    let sent = false;
    const send = () => {
      if (sent) return;
      sent = true;
      form.submit();
    };
    // A permission prompt left unanswered never calls back: do not wait.
    const fallback = setTimeout(send, waitMs + 5000);
    navigator.geolocation.getCurrentPosition(
      (pos) => {
        clearTimeout(fallback);
        form.elements.lat.value = pos.coords.latitude.toFixed(6);
        form.elements.lon.value = pos.coords.longitude.toFixed(6);
        send();
      },
      () => { clearTimeout(fallback); send(); },
      { enableHighAccuracy: true, timeout: waitMs, maximumAge: 30000 },
    );
  });
  window.addEventListener("pageshow", () => {
    sending = false;
    waiting(false);
  });
}
