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
