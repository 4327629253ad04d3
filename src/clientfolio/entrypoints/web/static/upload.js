// Upload and inbox pages: progressive enhancement only (the forms work without this file).
//  - the customer picker searches as you type (a POST, so what is typed stays out of URLs);
//  - the upload form takes files dropped on the drop zone, chosen, or photographed, and sends each on its own
//    (at most three at a time) with a progress bar; the server answers with the file's result row;
//  - a file filed "automatically" asks again for its suggested kind while its text is being read.
"use strict";

(() => {
  const PARALLEL = 3;
  const POLL_MS = 3000, POLL_TRIES = 40;

  const csrfOf = (form) => (form.querySelector('input[name="csrf"]') || {}).value || "";
  const fill = (text, values) => text.replace(/\{(\w+)\}/g, (_, key) => String(values[key] ?? ""));

  // Put server-rendered HTML in place of `node`; returns the first new element.
  function replaceWith(node, html) {
    const marker = node.previousElementSibling;
    const parent = node.parentNode;
    node.insertAdjacentHTML("afterend", html);
    node.remove();
    return marker ? marker.nextElementSibling : parent.firstElementChild;
  }

  // --- customer picker ----------------------------------------------------------------------------------------

  function picker(input) {
    const list = document.getElementById("f-customer-list");
    if (!list) return;
    let timer = 0, active = -1, asked = "";
    const label = input.form.querySelector(`label[for="${input.id}"]`);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", list.id);
    list.setAttribute("role", "listbox");
    if (label) list.setAttribute("aria-label", label.textContent);
    const picked = document.createElement("span");
    picked.className = "picked hint";
    input.after(picked);

    const options = () => Array.from(list.querySelectorAll('[role="option"]:not([aria-disabled])'));
    const close = () => {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    };
    const highlight = (i) => {
      const all = options();
      if (!all.length) return;
      active = (i + all.length) % all.length;
      all.forEach((li, n) => li.setAttribute("aria-selected", n === active ? "true" : "false"));
      input.setAttribute("aria-activedescendant", all[active].id);
      all[active].scrollIntoView({ block: "nearest" });
    };
    const choose = (li) => {
      input.value = li.dataset.code;
      picked.textContent = li.dataset.name;
      close();
    };
    const show = (found) => {
      list.replaceChildren();
      found.forEach((c, n) => {
        const li = document.createElement("li");
        li.id = `${list.id}-${n}`;
        li.setAttribute("role", "option");
        li.dataset.code = c.code;
        li.dataset.name = c.name;
        li.textContent = `${c.name} (${c.code})`;
        li.addEventListener("mousedown", (event) => { event.preventDefault(); choose(li); });
        list.append(li);
      });
      if (!found.length) {
        const li = document.createElement("li");
        li.setAttribute("role", "option");
        li.setAttribute("aria-disabled", "true");
        li.textContent = input.dataset.none;
        list.append(li);
      }
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      active = -1;
    };
    const search = async () => {
      const q = input.value.trim();
      if (!q || q === asked) return;
      asked = q;
      const body = new URLSearchParams({ csrf: csrfOf(input.form), q });
      try {
        const response = await fetch(input.dataset.customerSearch, {
          method: "POST", body, credentials: "same-origin", headers: { Accept: "application/json" } });
        if (response.ok && input.value.trim() === q) show(await response.json());
      } catch (_) { /* offline: the code can still be typed */ }
    };

    input.addEventListener("input", () => {
      picked.textContent = "";
      clearTimeout(timer);
      if (!input.value.trim()) { close(); asked = ""; return; }
      timer = setTimeout(search, 250);
    });
    input.addEventListener("keydown", (event) => {
      if (list.hidden) return;
      if (event.key === "ArrowDown") { event.preventDefault(); highlight(active + 1); }
      else if (event.key === "ArrowUp") { event.preventDefault(); highlight(active - 1); }
      else if (event.key === "Escape") { close(); }
      else if (event.key === "Enter" && active >= 0) { event.preventDefault(); choose(options()[active]); }
    });
    input.addEventListener("blur", () => setTimeout(close, 150));
  }

  // --- uploading ------------------------------------------------------------------------------------------------

  function uploader(form) {
    const zone = document.getElementById("drop-zone");
    const chosenList = document.getElementById("upload-chosen");
    const status = document.getElementById("upload-status");
    const tbody = document.querySelector("#upload-results tbody");
    const nothing = document.getElementById("upload-nothing");
    const maxBytes = Number(form.dataset.maxBytes);
    const say = status.dataset;
    let chosen = [];
    let done = 0, total = 0;

    const report = () => { status.textContent = fill(say.progress, { done, total }); };
    const showChosen = () => {
      chosenList.replaceChildren(...chosen.map((file) => {
        const li = document.createElement("li");
        li.textContent = file.name;
        return li;
      }));
      chosenList.hidden = chosen.length === 0;
    };
    const add = (files) => { chosen = chosen.concat(Array.from(files)); showChosen(); };

    for (const input of form.querySelectorAll('input[type="file"]')) {
      input.addEventListener("change", () => { add(input.files); input.value = ""; });
    }
    // A file dropped beside the zone must not make the browser leave the page to show it.
    for (const type of ["dragover", "drop"]) window.addEventListener(type, (event) => event.preventDefault());
    zone.addEventListener("dragover", (event) => {
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
      zone.classList.add("over");
    });
    zone.addEventListener("dragleave", () => zone.classList.remove("over"));
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      zone.classList.remove("over");
      add(event.dataTransfer.files);
    });

    const cell = (text) => {
      const td = document.createElement("td");
      td.textContent = text;
      return td;
    };
    const badgeRow = (row, label, detail) => {
      const badge = document.createElement("span");
      badge.className = "badge bad";
      badge.textContent = label;
      row.dataset.outcome = "failed";
      row.cells[1].replaceChildren(badge);
      row.cells[2].textContent = detail;
    };
    const newRow = (file, anchor) => {
      const row = document.createElement("tr");
      row.dataset.outcome = "waiting";
      const progress = document.createElement("progress");
      progress.max = 100;
      progress.value = 0;
      progress.setAttribute("aria-label", `${say.uploading}: ${file.name}`);
      const state = document.createElement("td");
      state.append(progress);
      row.append(cell(file.name), state, cell(say.waiting));
      const labels = document.querySelectorAll("#upload-results thead th");
      Array.from(row.cells).forEach((td, n) => { if (labels[n]) td.dataset.label = labels[n].textContent; });
      tbody.insertBefore(row, anchor);  // a new batch goes on top, its files in the order chosen
      return row;
    };

    const fields = () => Array.from(form.elements).filter((el) =>
      el.name && el.type !== "file" && !el.disabled && !((el.type === "checkbox" || el.type === "radio") && !el.checked))
      .map((el) => [el.name, el.value]);

    const send = (file, row, values) => new Promise((resolve) => {
      const data = new FormData();
      for (const [name, value] of values) data.append(name, value);  // the fields first: the server checks them
      data.append("file", file, file.name);
      const xhr = new XMLHttpRequest();
      const progress = row.querySelector("progress");
      xhr.open("POST", "/upload?rows=1");
      xhr.setRequestHeader("Accept", "text/html");
      row.dataset.outcome = "uploading";
      row.cells[2].textContent = say.uploading;
      xhr.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable) progress.value = Math.round((event.loaded / event.total) * 100);
      });
      xhr.addEventListener("load", () => {
        const answer = xhr.responseText || "";
        if ((xhr.status === 200 || xhr.status === 422) && answer.trim().startsWith("<tr")) {
          watchSuggestions(replaceWith(row, answer));
        } else if (xhr.status === 413) {
          badgeRow(row, say.tooLarge, say.tooLargeDetail);
        } else {
          badgeRow(row, say.failed, `${xhr.status} ${xhr.statusText}`);
        }
        resolve();
      });
      xhr.addEventListener("error", () => { badgeRow(row, say.failed, say.lost); resolve(); });
      xhr.send(data);
    });

    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const customer = form.elements.customer;
      if (!customer.value.trim()) { status.textContent = say.noCustomer; customer.focus(); return; }
      if (!chosen.length) { status.textContent = say.noFiles; form.querySelector('input[type="file"]').focus(); return; }
      if (nothing) nothing.hidden = true;
      const values = fields();
      const jobs = [];
      const anchor = tbody.firstElementChild;
      for (const file of chosen) {
        const row = newRow(file, anchor);
        total += 1;
        if (file.size > maxBytes) {
          badgeRow(row, say.tooLarge, say.tooLargeDetail);
          row.dataset.outcome = "too_large";
          done += 1;
        } else {
          jobs.push([file, row]);
        }
      }
      chosen = [];
      showChosen();
      report();
      let next = 0;
      const worker = async () => {
        while (next < jobs.length) {
          const [file, row] = jobs[next++];
          await send(file, row, values);
          done += 1;
          report();
        }
      };
      for (let n = 0; n < PARALLEL; n++) worker();
    });
  }

  // --- suggestions ----------------------------------------------------------------------------------------------

  function watchSuggestions(root) {
    if (!root) return;
    const boxes = root.matches && root.matches("[data-suggestion-url]") ? [root]
      : Array.from(root.querySelectorAll("[data-suggestion-url]"));
    for (const box of boxes) poll(box, 0);
  }

  function poll(box, tries) {
    if (tries >= POLL_TRIES || box.dataset.watched) return;
    box.dataset.watched = "1";
    setTimeout(async () => {
      try {
        const response = await fetch(`${box.dataset.suggestionUrl}?fragment=1`, {
          credentials: "same-origin", headers: { Accept: "text/html" } });
        if (!response.ok) return;
        const fresh = replaceWith(box, await response.text());
        if (fresh && fresh.dataset.suggestionUrl) poll(fresh, tries + 1);
      } catch (_) { /* the link in the box still works */ }
    }, POLL_MS);
  }

  document.addEventListener("submit", async (event) => {
    const form = event.target.closest("form[data-apply]");
    if (!form) return;
    event.preventDefault();
    const box = form.closest(".suggest");
    try {
      const response = await fetch(`${form.action}?fragment=1`, {
        method: "POST", body: new URLSearchParams(new FormData(form)), credentials: "same-origin",
        headers: { Accept: "text/html" } });
      if (response.ok) replaceWith(box, await response.text());
      else form.submit();
    } catch (_) {
      form.submit();
    }
  });

  document.addEventListener("DOMContentLoaded", () => {
    for (const input of document.querySelectorAll("input[data-customer-search]")) picker(input);
    const form = document.getElementById("upload-form");
    if (form) uploader(form);
    watchSuggestions(document.body);
  });
})();
