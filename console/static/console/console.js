// The console's few behaviours: the live character count (counted by the server, the way the
// channel counts), copying a draft, and keyboard shortcuts for the common path.
(function () {
  "use strict";

  function debounce(wait, run) {
    let timer;
    return function (...args) {
      clearTimeout(timer);
      timer = setTimeout(() => run(...args), wait);
    };
  }

  function countCharacters(form) {
    const text = form.querySelector("textarea[name=text]");
    const count = form.querySelector(".char-count");
    if (!text || !count || !form.dataset.lengthUrl) return;
    const refresh = debounce(120, async () => {
      const url = `${form.dataset.lengthUrl}?text=${encodeURIComponent(text.value)}`;
      const answer = await fetch(url, { headers: { Accept: "application/json" } });
      if (!answer.ok) return;
      const { length, limit, fits } = await answer.json();
      count.textContent = limit ? `${length} / ${limit}` : String(length);
      count.classList.toggle("over", !fits);
    });
    text.addEventListener("input", refresh);
  }

  function copyButton(form) {
    const button = form.querySelector("button.copy");
    const text = form.querySelector("textarea[name=text]");
    if (!button || !text) return;
    button.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(text.value);
      } catch (error) {
        text.select();
        document.execCommand("copy");
      }
      button.textContent = "Copied";
      setTimeout(() => (button.textContent = "Copy"), 1500);
    });
  }

  function inboxKeys() {
    const rows = Array.from(document.querySelectorAll("#inbox tr.mention"));
    if (!rows.length) return;
    let current = 0;
    const select = (index) => {
      rows[current].classList.remove("selected");
      current = Math.max(0, Math.min(rows.length - 1, index));
      rows[current].classList.add("selected");
      rows[current].scrollIntoView({ block: "nearest" });
    };
    select(0);
    document.addEventListener("keydown", (event) => {
      if (event.target.matches("input, textarea, select")) return;
      if (event.key === "j") select(current + 1);
      else if (event.key === "k") select(current - 1);
      else if (event.key === "Enter") window.location = rows[current].dataset.href;
    });
  }

  function mentionKeys() {
    const drafts = Array.from(document.querySelectorAll("form.draft"));
    document.addEventListener("keydown", (event) => {
      const typing = event.target.matches("input, textarea, select");
      if (typing && event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.target.form.requestSubmit();
        return;
      }
      if (typing) return;
      const draft = drafts[Number(event.key) - 1];
      if (draft) {
        event.preventDefault();
        draft.closest("details")?.setAttribute("open", "");
        draft.querySelector("textarea").focus();
      } else if (event.key === "t") document.getElementById("take")?.click();
      else if (event.key === "n") document.getElementById("nothing-fits")?.click();
      else if (event.key === "Escape") window.location = "/";
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("form.draft").forEach((form) => {
      countCharacters(form);
      copyButton(form);
    });
    if (document.getElementById("inbox")) inboxKeys();
    if (document.getElementById("mention-text")) mentionKeys();
  });
})();
