// Fusion's page script: theme, Enter to send, the cost estimate, live lanes, draft tabs.
// Everything a model or a page wrote is set as text (textContent); the only HTML
// inserted is what the server rendered and sanitised (the answer, the read view).
"use strict";

(function () {
  const $ = (selector, root) => (root || document).querySelector(selector);
  const $$ = (selector, root) => Array.from((root || document).querySelectorAll(selector));

  // -- theme ---------------------------------------------------------------------
  function applyTheme(theme) {
    const root = document.documentElement;
    if (theme) root.dataset.theme = theme; else delete root.dataset.theme;
    const dark = theme ? theme === "dark" : matchMedia("(prefers-color-scheme: dark)").matches;
    const button = $("#theme");
    if (button) {
      button.textContent = dark ? "Light theme" : "Dark theme";
      button.setAttribute("aria-pressed", String(dark));
    }
  }
  function initTheme() {
    let saved = null;
    try { saved = localStorage.getItem("fusion-theme"); } catch (e) { /* private mode */ }
    applyTheme(saved);
    const button = $("#theme");
    if (!button) return;
    button.addEventListener("click", () => {
      const dark = button.getAttribute("aria-pressed") === "true";
      const next = dark ? "light" : "dark";
      try { localStorage.setItem("fusion-theme", next); } catch (e) { /* private mode */ }
      applyTheme(next);
    });
  }

  // -- Enter sends, Shift+Enter starts a new line ----------------------------------
  function initEnterSends() {
    for (const area of $$("textarea[data-enter-sends]")) {
      area.addEventListener("keydown", (event) => {
        if (event.key !== "Enter" || event.shiftKey || event.altKey || event.ctrlKey ||
            event.metaKey || event.isComposing) return;
        event.preventDefault();
        if (area.value.trim() && area.form) area.form.requestSubmit();
      });
    }
  }

  // -- the cost estimate, before sending -------------------------------------------
  function initEstimate() {
    const form = $("#ask");
    const out = $("#estimate");
    if (!form || !out) return;
    let timer = null;
    let asked = 0;
    const update = async () => {
      const body = new URLSearchParams(new FormData(form));
      if (!String(body.get("prompt") || "").trim()) { out.textContent = ""; return; }
      const ticket = ++asked;
      try {
        const response = await fetch("/estimate", { method: "POST", body });
        const data = await response.json();
        if (ticket !== asked) return;
        if (data.error) { out.textContent = "Can't estimate: " + data.error; return; }
        out.textContent = `Estimated cost: ${data.summary}`;
      } catch (e) {
        if (ticket === asked) out.textContent = "";
      }
    };
    const later = () => { clearTimeout(timer); timer = setTimeout(update, 300); };
    form.addEventListener("input", later);
    form.addEventListener("change", later);
    update();
  }

  // -- live run ------------------------------------------------------------------
  function laneOf(model) {
    return $$(".lane").find((lane) => lane.dataset.model === model) || null;
  }
  function setStatus(lane, status, text) {
    const node = $(".lane-status", lane);
    node.dataset.status = status;
    node.textContent = text;
  }
  function logLine(lane, text, url) {
    const item = document.createElement("li");
    item.append(text);
    if (url) {
      if (/^https?:\/\//i.test(url)) {
        const link = document.createElement("a");
        link.href = url; link.rel = "noopener noreferrer"; link.target = "_blank";
        link.textContent = url;
        item.append(link);
      } else {
        item.append(url);
      }
    }
    $(".lane-log", lane).append(item);
    return item;
  }
  function money(value) { return value === null || value === undefined ? "—" : "$" + Number(value).toFixed(4); }

  function judgeNote(text) {
    const item = document.createElement("li");
    item.textContent = text;
    $(".judge-log").append(item);
  }

  function onProgress(event) {
    const name = event.event;
    if (name === "judge_started") {
      $(".judge-status").textContent = `(${event.model} is writing from ${event.drafts} drafts)`;
      $("#run-status").textContent = "Running: the judge is writing.";
      return; // an answer shown stays until new answer text replaces it (the server says)
    }
    if (name === "judge_retry" || name === "judge_fallback") {
      const how = name === "judge_retry" ? "asking again" : "in two calls";
      $(".judge-status").textContent = `(${event.model}: ${how}, ${event.reason || "unusable reply"})`;
      judgeNote(`${event.model}: ${how} (${event.reason || "unusable reply"}); its new answer replaces the one shown`);
      return;
    }
    if (name === "judge_input_trimmed") {
      judgeNote(`${event.drafts} longest draft(s) trimmed to fit ${event.model}'s window of ${Number(event.window).toLocaleString()} tokens`);
      return;
    }
    if (name === "judge_done") {
      const cut = event.status === "judge_truncated" ? ", the answer was cut at its token limit" : "";
      $(".judge-status").textContent = `(${event.model}: ${event.status}${cut})`;
      $("#run-status").textContent = "Running: the judge is analysing the drafts.";
      return;
    }
    const lane = laneOf(event.model);
    if (!lane) return;
    if (name === "panelist_started") {
      setStatus(lane, "running", "drafting");
    } else if (name === "tool_call") {
      const search = event.tool === "web_search";
      setStatus(lane, "running", search ? "searching" : "reading");
      const target = event.query || event.url || event.target || "";
      const item = search ? logLine(lane, "search: " + target) : logLine(lane, "read: ", target);
      item.dataset.tool = event.tool;
      $(".calls", lane).textContent = String($$(".lane-log li", lane).length);
    } else if (name === "tool_result") {
      const open = $$(".lane-log li", lane).filter((li) => li.dataset.tool === event.tool && !li.dataset.done);
      const item = open[0];
      if (item) {
        item.dataset.done = "1";
        if (event.error) { item.classList.add("err"); item.append(" (failed)"); }
        else item.append(` (${Number(event.chars || 0).toLocaleString()} chars)`);
      }
      setStatus(lane, "running", "drafting");
    } else if (name === "draft_done") {
      if (event.truncated) setStatus(lane, "truncated", "done, truncated: cut at its token limit");
      else setStatus(lane, "done", "done");
      $(".tokens", lane).textContent = (Number(event.prompt_tokens || 0) + Number(event.completion_tokens || 0)).toLocaleString();
      $(".cost", lane).textContent = money(event.cost_usd);
      $(".seconds", lane).textContent = Number(event.seconds || 0).toFixed(1);
      $(".calls", lane).textContent = String(event.tool_calls || 0);
    } else if (name === "panelist_failed") {
      setStatus(lane, "failed", "failed: " + (event.reason || "error"));
      logLine(lane, event.message || event.reason || "failed").classList.add("err");
    } else if (name === "sources") {
      const list = $(".lane-sources", lane);
      list.textContent = "";
      for (const source of event.sources || []) {
        const item = document.createElement("li");
        if (/^https?:\/\//i.test(source.url)) {
          const link = document.createElement("a");
          link.href = source.url; link.rel = "noopener noreferrer"; link.target = "_blank";
          link.textContent = source.title || source.url;
          item.append(link);
        } else {
          item.textContent = source.title || source.url;
        }
        list.append(item);
      }
    }
  }

  function initLive() {
    const root = $("#run-root[data-live]");
    if (!root) return;
    const thread = root.dataset.thread;
    let seen = -1;
    const events = new EventSource(`/runs/${encodeURIComponent(thread)}/events`);
    events.addEventListener("progress", (message) => {
      const event = JSON.parse(message.data);
      if (event.seq <= seen) return; // replayed after a reconnect
      seen = event.seq;
      onProgress(event);
    });
    events.addEventListener("answer", (message) => {
      // HTML rendered and sanitised by the server (cmark-gfm, no raw HTML)
      $("#answer").innerHTML = JSON.parse(message.data).html;
    });
    events.addEventListener("done", async () => {
      events.close();
      $("#run-status").textContent = "Finished: loading the analysis.";
      const response = await fetch(`/runs/${encodeURIComponent(thread)}/read`);
      if (!response.ok) { $("#run-status").textContent = "Finished; reload the page to read it."; return; }
      root.innerHTML = await response.text(); // the server's sanitised read view
      delete root.dataset.live;
      initTabs();
      initEnterSends();
      root.dataset.finished = "1";
    });
  }

  // -- drafts: side by side, tabs on a narrow screen ----------------------------
  const narrow = matchMedia("(max-width: 760px)");
  function selectTab(tab, focus) {
    const tabs = $$('[role="tab"]', tab.parentElement);
    for (const other of tabs) {
      const selected = other === tab;
      other.setAttribute("aria-selected", String(selected));
      other.tabIndex = selected ? 0 : -1;
      const panel = document.getElementById(other.getAttribute("aria-controls"));
      if (panel) panel.hidden = narrow.matches && !selected;
    }
    if (focus) tab.focus();
  }
  function layoutTabs() {
    for (const list of $$(".tabs")) {
      const drafts = list.nextElementSibling;
      list.classList.toggle("on", narrow.matches);
      drafts.classList.toggle("tabbed", narrow.matches);
      const current = $('[role="tab"][aria-selected="true"]', list) || $('[role="tab"]', list);
      if (current) selectTab(current, false);
    }
  }
  function showDraft(anchor) {
    const tab = document.getElementById("tab-" + anchor);
    if (tab) selectTab(tab, false);
  }
  function initTabs() {
    for (const list of $$(".tabs")) {
      if (list.dataset.ready) continue;
      list.dataset.ready = "1";
      list.addEventListener("click", (event) => {
        const tab = event.target.closest('[role="tab"]');
        if (tab) selectTab(tab, true);
      });
      list.addEventListener("keydown", (event) => {
        const tabs = $$('[role="tab"]', list);
        const at = tabs.indexOf(document.activeElement);
        if (at < 0) return;
        const moves = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: tabs.length - 1 };
        if (!(event.key in moves)) return;
        event.preventDefault();
        selectTab(tabs[(moves[event.key] + tabs.length) % tabs.length], true);
      });
    }
    layoutTabs();
  }
  function initDraftLinks() {
    document.addEventListener("click", (event) => {
      const link = event.target.closest && event.target.closest("a.to-draft");
      if (link) showDraft(link.getAttribute("href").slice(1));
    });
    window.addEventListener("hashchange", () => showDraft(location.hash.slice(1)));
    narrow.addEventListener("change", layoutTabs);
  }

  function init() {
    initTheme();
    initEnterSends();
    initEstimate();
    initTabs();
    initDraftLinks();
    initLive();
    if (location.hash) showDraft(location.hash.slice(1));
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
