// Send the CSRF token with every HTMX request of a logged-in console page.
document.addEventListener("htmx:configRequest", (event) => {
  const meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) {
    event.detail.headers["X-CSRF-Token"] = meta.content;
  }
});

// Show the console's "not allowed" page (HTTP 403) instead of silently ignoring it.
document.addEventListener("htmx:beforeSwap", (event) => {
  const xhr = event.detail.xhr;
  if (xhr.status === 403 && xhr.getResponseHeader("X-Openpss-Page") === "forbidden") {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});

// Success notice after a save: the server fires "openpss-flash" (HX-Trigger) with the text.
document.addEventListener("openpss-flash", (event) => {
  const box = document.getElementById("flash");
  if (box && event.detail && event.detail.value) {
    box.textContent = event.detail.value;
    box.hidden = false;
  }
});

// Batch add / issue: append the card number a device read to the form's list (one per line).
function openpssAppendCard(event) {
  const form = event.detail.elt.closest("form");
  const xhr = event.detail.xhr;
  const error = form.querySelector(".read-error");
  if (xhr.status !== 200) {
    if (error) { error.textContent = xhr.responseText; }
    return;
  }
  if (error) { error.textContent = ""; }
  const list = document.querySelector(form.dataset.cards);
  const text = list.value.replace(/\s+$/, "");
  list.value = (text ? text + "\n" : "") + xhr.responseText.trim();
}
