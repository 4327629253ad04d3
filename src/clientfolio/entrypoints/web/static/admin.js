// Administration pages, progressive enhancement: a "Copy" button beside a secret shown once.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  if (!navigator.clipboard) return;  // only on https:// or localhost; the text stays selectable anyway
  for (const secret of document.querySelectorAll("[data-copy]")) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "copy";
    button.textContent = secret.dataset.copy;
    button.addEventListener("click", async () => {
      await navigator.clipboard.writeText(secret.textContent.trim());
      button.textContent = secret.dataset.copied;
    });
    secret.after(button);
  }
});
