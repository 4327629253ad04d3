// Progressive enhancement only: every page works without this file.
"use strict";
document.documentElement.classList.add("js");

document.addEventListener("DOMContentLoaded", () => {
  // The main menu stays open on wide screens; on a phone it folds behind "Menu".
  const menu = document.querySelector("details.menu");
  if (menu && window.matchMedia("(min-width: 48rem)").matches) menu.open = true;

  // A <select data-autosubmit> (the language switch) submits its form when changed.
  for (const select of document.querySelectorAll("select[data-autosubmit]")) {
    select.addEventListener("change", () => select.form.requestSubmit());
  }

  // <form data-confirm="question">: ask before something that cannot be undone lightly.
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
});
