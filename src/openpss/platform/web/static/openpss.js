// Send the CSRF token with every HTMX request of a logged-in console page.
document.addEventListener("htmx:configRequest", (event) => {
  const meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) {
    event.detail.headers["X-CSRF-Token"] = meta.content;
  }
});

// Show the console's "not allowed" (403) and error pages instead of silently ignoring them.
document.addEventListener("htmx:beforeSwap", (event) => {
  const xhr = event.detail.xhr;
  const page = xhr.getResponseHeader("X-Openpss-Page");
  if (xhr.status >= 400 && (page === "forbidden" || page === "error")) {
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

// A card number a device read: appended to a batch form's list (one per line), or put into a
// single card field. The requesting element (or its form) names the field in data-cards.
function openpssAppendCard(event) {
  const elt = event.detail.elt;
  const box = elt.closest("div, form");
  const xhr = event.detail.xhr;
  const error = box.querySelector(".read-error");
  if (xhr.status !== 200) {
    if (error) { error.textContent = xhr.responseText; }
    return;
  }
  if (error) { error.textContent = ""; }
  const field = document.querySelector(elt.dataset.cards || elt.closest("form").dataset.cards);
  const number = xhr.responseText.trim();
  if (field.tagName === "TEXTAREA") {
    const text = field.value.replace(/\s+$/, "");
    field.value = (text ? text + "\n" : "") + number;
  } else {
    field.value = number;
  }
}
