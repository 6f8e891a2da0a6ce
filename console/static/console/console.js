// The console's few behaviours: the live character count (counted by the server, the way the
// channel counts) with the offer to split a reply too long for it, copying a draft, and keyboard
// shortcuts for the common path. Parts of the
// pages refresh themselves through htmx; what they bring in is set up the same way (htmx.onLoad).
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
      const { length, limit, fits, parts } = await answer.json();
      count.textContent = limit ? `${length} / ${limit}` : String(length);
      count.classList.toggle("over", !fits);
      splitOffers.get(form)?.(parts || []);
    });
    text.addEventListener("input", refresh);
  }

  const splitOffers = new WeakMap(); // a draft's form -> how to show the parts of its new text

  // "Split into N parts": offered while the reply is over the limit (the server splits it, as it
  // will when sending), never for a direct message; ticked, it shows the parts. A hidden offer is
  // disabled, so it is not sent with the form.
  function splitOffer(form) {
    const offer = form.querySelector(".split-offer");
    if (!offer) return;
    const box = offer.querySelector("input[name=split]");
    const preview = offer.querySelector(".split-preview");
    const direct = form.querySelector("input[name=private]");
    let parts = Array.from(preview.children, (item) => item.textContent);
    const sync = () => {
      const offered = parts.length > 1 && !direct?.checked;
      offer.hidden = !offered;
      box.disabled = !offered;
      preview.hidden = !(offered && box.checked);
    };
    splitOffers.set(form, (given) => {
      parts = given;
      offer.querySelector(".split-count").textContent = String(parts.length);
      preview.replaceChildren(
        ...parts.map((part) => {
          const item = document.createElement("li");
          item.textContent = part;
          return item;
        })
      );
      sync();
    });
    box.addEventListener("change", sync);
    direct?.addEventListener("change", sync);
    sync();
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

  function setUpDrafts(root) {
    root.querySelectorAll("form.draft").forEach((form) => {
      splitOffer(form);
      countCharacters(form);
      copyButton(form);
    });
  }

  // A part refreshed under the cursor gives the focus back to the same control, found by its id
  // (an inbox row's link, "Take it"), instead of dropping it to the top of the page.
  function keepFocus() {
    let focused = null;
    document.body.addEventListener("htmx:beforeSwap", () => {
      focused = document.activeElement?.id || null;
    });
    document.body.addEventListener("htmx:afterSettle", () => {
      if (focused && !document.activeElement?.id) document.getElementById(focused)?.focus();
      focused = null;
    });
  }

  // Tells screen readers what a refresh brought in, through the page's polite live region.
  function announce(message) {
    const region = document.getElementById("announcer");
    if (!region) return;
    region.textContent = "";
    setTimeout(() => (region.textContent = message), 50); // a repeated message is read again
  }

  const plural = (count, word) => `${count} ${word}${count === 1 ? "" : "s"}`;

  // The inbox's selection survives the list refreshing itself: it follows the mention's id. A
  // row's link reached with Tab selects its row; Enter on a link or button does what it says.
  function inboxKeys() {
    let selectedId = null;
    const rows = () => Array.from(document.querySelectorAll("#inbox tr.mention"));
    const select = (row) => {
      if (!row) return;
      rows().forEach((each) => each.classList.remove("selected"));
      row.classList.add("selected");
      row.scrollIntoView({ block: "nearest" });
      selectedId = row.dataset.id;
    };
    const current = () => rows().findIndex((row) => row.dataset.id === selectedId);
    const reselect = () => {
      const all = rows();
      select(all[Math.max(0, current())]);
    };
    const listed = () => new Set(rows().map((row) => row.dataset.id));
    let known = listed();
    reselect();
    document.body.addEventListener("htmx:afterSettle", () => {
      reselect();
      const now = listed();
      const arrived = [...now].filter((id) => !known.has(id)).length;
      if (arrived) announce(`${plural(arrived, "new mention")} in the inbox.`);
      known = now;
    });
    document.addEventListener("focusin", (event) => {
      const row = event.target.closest?.("#inbox tr.mention");
      if (row) select(row);
    });
    document.addEventListener("keydown", (event) => {
      if (event.target.matches("input, textarea, select")) return;
      if (event.key === "Enter" && event.target.closest("a, button")) return;
      const all = rows();
      if (!all.length) return;
      const at = Math.max(0, current());
      if (event.key === "j") select(all[Math.min(all.length - 1, at + 1)]);
      else if (event.key === "k") select(all[Math.max(0, at - 1)]);
      else if (event.key === "Enter") window.location = all[at].dataset.href;
    });
  }

  // The inbox's order and filters apply as soon as one is picked (the Apply button is there
  // for browsers without scripts).
  function filtersApply() {
    document.addEventListener("change", (event) => {
      const form = event.target.closest?.("#inbox-filters");
      if (form && event.target.matches("select")) form.requestSubmit();
    });
  }

  // Drafts that were on their way have come in (the drafts part stops asking once they have).
  function draftsArrival() {
    let pending = Boolean(document.querySelector("#drafts .pending"));
    document.body.addEventListener("htmx:afterSettle", () => {
      if (!pending || document.querySelector("#drafts .pending")) return;
      pending = false;
      const drafts = document.querySelectorAll("#drafts form.draft:not(#own-reply)").length;
      announce(drafts ? `${plural(drafts, "draft")} ready.` : "No drafts: reply in your own words.");
    });
  }

  function mentionKeys() {
    document.addEventListener("keydown", (event) => {
      const typing = event.target.matches("input, textarea, select");
      if (typing && event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.target.form.requestSubmit();
        return;
      }
      if (typing && event.key === "Escape") {
        event.target.blur(); // out of the draft, so the keys work again; a second Esc leaves
        return;
      }
      if (typing) return;
      const draft = document.querySelectorAll("form.draft")[Number(event.key) - 1];
      if (draft) {
        event.preventDefault();
        draft.closest("details")?.setAttribute("open", "");
        draft.querySelector("textarea").focus();
      } else if (event.key === "t") document.getElementById("take")?.click();
      else if (event.key === "n") document.getElementById("nothing-fits")?.click();
      else if (event.key === "e") {
        const escalate = document.getElementById("escalate");
        if (!escalate) return;
        event.preventDefault();
        escalate.setAttribute("open", "");
        escalate.querySelector("textarea")?.focus();
      } else if (event.key === "Escape") window.location = "/";
    });
  }

  // The closest drafts the engine folded away when it abstained (a mention's page, the paste
  // box): "c" unfolds them and puts the cursor in the first, to read or send like any draft.
  function foldKey() {
    document.addEventListener("keydown", (event) => {
      if (event.key !== "c" || event.ctrlKey || event.metaKey || event.altKey) return;
      if (event.target.matches("input, textarea, select")) return;
      const fold = document.getElementById("closest-drafts");
      if (!fold) return;
      event.preventDefault();
      fold.setAttribute("open", "");
      fold.querySelector("textarea")?.focus();
    });
  }

  // Registered before htmx starts (this script comes after it): it calls back with the whole
  // page once, then with each part it swaps in.
  if (window.htmx) window.htmx.onLoad(setUpDrafts);
  else document.addEventListener("DOMContentLoaded", () => setUpDrafts(document));

  document.addEventListener("DOMContentLoaded", () => {
    if (document.getElementById("inbox-live")) {
      inboxKeys();
      filtersApply();
    }
    if (document.getElementById("mention-text")) {
      mentionKeys();
      draftsArrival();
    }
    keepFocus();
    foldKey();  // the fold may arrive later, with drafts that were on their way
  });
})();
