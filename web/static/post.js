// The check-in button on the officer's phone page: before the form goes,
// ask the phone where it is and send that along. Without a position (denied,
// no fix within 10 s, no GPS) the form goes anyway and the server flags the
// check-in as outside the fence. Without JavaScript the form posts as is.
const form = document.getElementById("check-in-form");

if (form && "geolocation" in navigator) {
  const button = form.querySelector("button[type=submit]");
  const label = button ? button.textContent : "";
  let sending = false;

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (sending) return; // a double tap sends once
    sending = true;
    if (button) {
      button.disabled = true;
      button.textContent = form.dataset.locating || label;
    }
    let sent = false;
    const send = () => {
      if (sent) return;
      sent = true;
      form.submit();
    };
    // A permission prompt left unanswered never calls back: do not wait.
    const fallback = setTimeout(send, 15000);
    navigator.geolocation.getCurrentPosition(
      (pos) => {
        clearTimeout(fallback);
        form.elements.lat.value = pos.coords.latitude.toFixed(6);
        form.elements.lon.value = pos.coords.longitude.toFixed(6);
        send();
      },
      () => { clearTimeout(fallback); send(); },
      { enableHighAccuracy: true, timeout: 10000, maximumAge: 30000 },
    );
  });

  // Back from the next page (bfcache): the button works again.
  window.addEventListener("pageshow", () => {
    sending = false;
    if (button) {
      button.disabled = false;
      button.textContent = label;
    }
  });
}
