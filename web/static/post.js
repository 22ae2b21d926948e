// The check-in button on the officer's phone page: before the form goes,
// ask the phone where it is and send that along. Without a position (denied,
// no fix within 10 s, no GPS) the form goes anyway and the server flags the
// check-in as outside the fence. Without JavaScript the form posts as is.
import { sendWithPosition } from "./locate.js";

const form = document.getElementById("check-in-form");
const button = form?.querySelector("button[type=submit]");
const label = button ? button.textContent : "";

sendWithPosition(form, {
  waiting(on) {
    if (!button) return;
    button.disabled = on;
    button.textContent = on ? form.dataset.locating || label : label;
  },
});
