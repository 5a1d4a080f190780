/// The workspace's page, script and style, written here and embedded in the
/// binary: nothing is fetched from anywhere but this server, so it works
/// offline. Every piece of the store's text reaches the page through
/// `textContent` (never markup), and colours only as `#rrggbb` through
/// the style object, which the Content-Security-Policy allows.
enum WorkspaceAssets {
    static let html = #"""
    <!doctype html>
    <html lang="zh">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Margin</title>
    <link rel="icon" href="data:,">
    <link rel="stylesheet" href="/app.css">
    <script src="/app.js" defer></script>
    </head>
    <body>
    <header>
      <a href="#/records" id="nav-records">Records</a>
      <a href="#/review" id="nav-review">Review</a>
      <a href="#/conflicts" id="nav-conflicts">Conflicts</a>
      <a href="#/team" id="nav-team">Team</a>
      <a href="#/sync" id="nav-sync">Sync</a>
      <span id="node"></span>
      <span id="blind" hidden>blind coding: only your own annotations are shown</span>
      <span id="message" role="status" aria-live="polite"></span>
    </header>
    <main id="main" tabindex="-1"></main>
    <div id="picker" hidden role="dialog" aria-label="Pick a code">
      <div id="picker-quote"></div>
      <input id="picker-input" autocomplete="off" placeholder="code (type to filter, 1–9, Enter)" aria-label="code">
      <ol id="picker-list"></ol>
      <input id="picker-value" autocomplete="off" placeholder="value (optional)" aria-label="value">
      <input id="picker-note" autocomplete="off" placeholder="note (optional)" aria-label="note">
      <div class="keys">Enter codes the span · Esc cancels</div>
    </div>
    <div id="note-dialog" hidden role="dialog" aria-label="Write a note">
      <div id="note-quote"></div>
      <textarea id="note-text" rows="4" aria-label="note"></textarea>
      <div class="keys">Ctrl+Enter saves · Esc cancels</div>
    </div>
    </body>
    </html>
    """#

    static let style = #"""
    body { font-family: system-ui, "Noto Sans CJK SC", "Noto Sans CJK TC", sans-serif; margin: 0; color: #1d1d1f; background: #fafafa; }
    header { display: flex; gap: 1em; align-items: center; padding: .5em 1em; background: #23395d; color: #fff; }
    header a { color: #fff; font-weight: bold; }
    #message { margin-left: auto; }
    #message.error { color: #ffb4b4; }
    #blind { background: #f6c453; color: #000; padding: 0 .5em; }
    main { padding: 1em; max-width: 80em; }
    form.filters { display: flex; flex-wrap: wrap; gap: .5em; margin-bottom: 1em; }
    table { border-collapse: collapse; width: 100%; }
    th, td { text-align: left; padding: .3em .5em; border-bottom: 1px solid #ddd; }
    tr.current { background: #e4ecf7; }
    .pager { margin: 1em 0; display: flex; gap: 1em; align-items: center; }
    .reader { display: grid; grid-template-columns: minmax(0, 3fr) minmax(16em, 2fr); gap: 1.5em; }
    .body { white-space: pre-wrap; line-height: 1.9; font-size: 1.1em; background: #fff; padding: 1em; border: 1px solid #ddd; }
    .body mark { padding: 0; border-radius: 2px; }
    .body mark.overlap { outline: 2px solid #23395d; }
    .body mark.suggested { background: transparent !important; border-bottom: 2px dashed #888; }
    dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: .2em 1em; }
    dl.meta dt { color: #666; }
    dl.meta dd { margin: 0; overflow-wrap: anywhere; }
    h1, td, li { overflow-wrap: anywhere; unicode-bidi: isolate; }
    ul.annotations { list-style: none; padding: 0; }
    ul.annotations li { padding: .4em; border-bottom: 1px solid #eee; }
    ul.annotations li.current { background: #e4ecf7; }
    .swatch { display: inline-block; width: .9em; height: .9em; margin-right: .3em; vertical-align: middle; border: 1px solid #999; }
    .status { font-size: .85em; color: #555; }
    .keys { font-size: .85em; color: #555; }
    #note-dialog { position: fixed; top: 20%; left: 50%; transform: translateX(-50%); background: #fff; border: 1px solid #888; padding: 1em; box-shadow: 0 4px 20px #0004; min-width: 22em; }
    #note-dialog textarea { width: 100%; box-sizing: border-box; }
    #picker { position: fixed; top: 20%; left: 50%; transform: translateX(-50%); background: #fff; border: 1px solid #888; padding: 1em; box-shadow: 0 4px 20px #0004; min-width: 22em; }
    #picker input { display: block; width: 100%; margin: .3em 0; box-sizing: border-box; }
    #picker ol { margin: .3em 0; padding-left: 1.5em; max-height: 14em; overflow: auto; }
    #picker li.current { background: #e4ecf7; }
    button { cursor: pointer; }
    .sides { display: grid; grid-template-columns: 1fr 1fr; gap: 1em; }
    .side { background: #fff; border: 1px solid #ddd; padding: .5em; }
    .side pre { white-space: pre-wrap; overflow-wrap: anywhere; }
    section.conflict { border-bottom: 2px solid #ccc; padding: 1em; }
    section.conflict.current { background: #e4ecf7; }
    .review-item { background: #fff; border: 1px solid #ddd; padding: 1em; }
    svg .grid { stroke: #ddd; }
    svg .whisker { stroke: #222; stroke-width: 2; }
    svg text { font-size: 12px; fill: #222; }
    svg .axis { fill: #666; }
    header a { margin-right: .3em; }
    """#

    static let script = #"""
    "use strict";
    (() => {
    const $ = (id) => document.getElementById(id);
    let state = { codes: [], node: "", blind: false, changes: 0 };
    let view = null;          // what is shown: { kind, render }
    let current = 0;          // the highlighted row or annotation
    let pending = null;       // the selection waiting for a code

    // Bidirectional controls (U+202A–202E, U+2066–2069) in report text
    // would turn what follows around on screen (a "txt.exe" that reads as
    // "exe.txt"): each is shown as U+FFFD, one UTF-16 unit for one, so
    // every offset in the text stays where it was.
    const bidi = /[\u202A-\u202E\u2066-\u2069]/g;
    function visible(text) { return String(text).replace(bidi, "\uFFFD"); }

    // Every string from the store goes in as text, never as markup.
    function el(tag, attrs, ...children) {
      const e = document.createElement(tag);
      for (const [k, v] of Object.entries(attrs || {})) {
        if (k === "class") e.className = v;
        else if (k === "onclick") e.addEventListener("click", v);
        else if (k === "background") e.style.backgroundColor = v;
        else e.setAttribute(k, k === "title" ? visible(v) : v);
      }
      for (const c of children) {
        if (c === null || c === undefined) continue;
        e.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(visible(c)) : c);
      }
      return e;
    }

    function say(text, error) {
      const m = $("message");
      m.textContent = text;
      m.className = error ? "error" : "";
    }

    // A <select> of [value, label] pairs, `chosen` selected (a function:
    // the first value it accepts), with a blank choice first when given.
    function choices(name, id, blank, pairs, chosen) {
      const sel = el("select", { name, id });
      if (blank !== null) sel.appendChild(el("option", { value: "" }, blank));
      const pick = typeof chosen === "function" ? chosen : (v) => v === chosen;
      let taken = false;
      for (const [value, label] of pairs) {
        const o = el("option", { value }, label);
        if (!taken && pick(value)) { o.selected = true; taken = true; }
        sel.appendChild(o);
      }
      return sel;
    }

    // A filter form sends its non-empty fields to `page` in the address.
    function submitsTo(form, page) {
      form.addEventListener("submit", (e) => {
        e.preventDefault();
        const f = new URLSearchParams();
        for (const [k, v] of new FormData(form)) if (v) f.set(k, v);
        location.hash = page + "?" + f.toString();
      });
    }

    async function get(path) {
      const r = await fetch(path, { credentials: "same-origin" });
      const body = await r.json();
      if (!r.ok) throw new Error(body.error || r.statusText);
      return body;
    }

    async function post(path, data) {
      const r = await fetch(path, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json" }, body: JSON.stringify(data),
      });
      const body = await r.json();
      if (!r.ok) { const e = new Error(body.error || r.statusText); e.status = r.status; throw e; }
      return body;
    }

    // Offsets: Margin counts Unicode scalars (code points); the browser's
    // strings and selections count UTF-16 units. An astral character
    // (𠀀, 😷) is one of the first and two of the second.
    function codePointsBefore(text, utf16) { return Array.from(text.slice(0, utf16)).length; }
    function utf16Offsets(text) {
      const out = [0];
      let u = 0;
      for (const ch of text) { u += ch.length; out.push(u); }
      return out;   // out[n]: the UTF-16 offset of code point n
    }

    async function loadState() {
      state = await get("/api/state");
      $("node").textContent = state.node;
      $("blind").hidden = !state.blind;
    }

    // ---- Records --------------------------------------------------------

    function params() {
      const h = location.hash;
      const q = h.indexOf("?");
      return new URLSearchParams(q >= 0 ? h.slice(q + 1) : "");
    }

    async function showRecords() {
      const p = params();
      const query = new URLSearchParams();
      for (const k of ["q", "code", "status", "coder", "done", "place", "since", "until", "offset"]) if (p.get(k)) query.set(k, p.get(k));
      query.set("limit", "50");
      const data = await get("/api/records?" + query.toString());
      const main = $("main");
      main.replaceChildren();
      const form = el("form", { class: "filters", id: "filters" });
      const field = (name, label, value) => el("label", {}, label + " ", el("input", { name, value: value || "", id: "filter-" + name }));
      const code = choices("code", "filter-code", "any code", state.codes.map((c) => [c.id, c.name]), p.get("code"));
      const status = choices("status", "filter-status", "any status", ["open", "accepted", "rejected", "suggested"].map((x) => [x, x]), p.get("status"));
      const coder = choices("coder", "filter-coder", "any coder", (await get("/api/coders")).map((c) => [c, c]), p.get("coder"));
      const done = choices("done", "filter-done", "done or not", [["yes", "done by me"], ["no", "not done by me"]], p.get("done"));
      form.append(field("q", "Search", p.get("q")), code, status, coder, done, field("place", "Place", p.get("place")),
                  field("since", "From", p.get("since")), field("until", "To", p.get("until")), el("button", { type: "submit" }, "Filter"));
      submitsTo(form, "#/records");
      main.appendChild(form);
      const first = data.total === 0 ? 0 : data.offset + 1, last = data.offset + data.records.length;
      main.appendChild(el("p", { id: "count" }, `${first}–${last} of ${data.total} records`));
      const table = el("table", { id: "records" },
        el("thead", {}, el("tr", {}, el("th", {}, "Title"), el("th", {}, "Place"), el("th", {}, "Published"),
                              el("th", {}, "Annotations"), el("th", {}, "Open"), el("th", {}, "Done by"))));
      const tbody = el("tbody");
      data.records.forEach((r, i) => {
        tbody.appendChild(el("tr", { "data-id": r.id, "data-index": String(i) },
          el("td", {}, el("a", { href: "#/record/" + encodeURIComponent(r.id) }, r.title || r.id)),
          el("td", {}, r.place || ""), el("td", {}, r.published || ""),
          el("td", {}, r.annotations), el("td", {}, r.open), el("td", {}, r.done.join(", "))));
      });
      table.appendChild(tbody);
      main.appendChild(table);
      const pager = el("div", { class: "pager" });
      const page = (offset) => { const f = params(); f.set("offset", String(offset)); location.hash = "#/records?" + f.toString(); };
      if (data.offset > 0) pager.appendChild(el("button", { id: "previous", onclick: () => page(Math.max(0, data.offset - data.limit)) }, "← Previous"));
      if (last < data.total) pager.appendChild(el("button", { id: "next", onclick: () => page(data.offset + data.limit) }, "Next →"));
      pager.appendChild(el("span", { class: "keys" }, "/ search · j k move · Enter open · n p pages"));
      main.appendChild(pager);
      current = Math.min(current, Math.max(0, data.records.length - 1));
      const rows = () => Array.from(tbody.querySelectorAll("tr"));
      const mark = () => rows().forEach((tr, i) => tr.classList.toggle("current", i === current));
      mark();
      view = {
        kind: "records",
        key(e) {
          if (e.key === "/") { e.preventDefault(); $("filter-q").focus(); return true; }
          if (e.key === "j") { current = Math.min(current + 1, rows().length - 1); mark(); return true; }
          if (e.key === "k") { current = Math.max(current - 1, 0); mark(); return true; }
          if (e.key === "Enter" && rows()[current]) { location.hash = "#/record/" + encodeURIComponent(rows()[current].dataset.id); return true; }
          if (e.key === "n" && last < data.total) { page(data.offset + data.limit); return true; }
          if (e.key === "p" && data.offset > 0) { page(Math.max(0, data.offset - data.limit)); return true; }
          return false;
        },
      };
    }

    // ---- Reader ---------------------------------------------------------

    function colourOf(codeID) {
      const c = state.codes.find((c) => c.id === codeID);
      return c ? c.colour : "#dddddd";
    }

    // The body as text runs between span boundaries, each run a <mark>
    // when spans cover it (outlined when more than one does).
    function renderBody(body, annotations) {
      const container = el("div", { class: "body", id: "body", tabindex: "0" });
      const map = utf16Offsets(body);
      const spans = annotations.filter((a) => a.start !== null && a.end !== null && a.end <= map.length - 1);
      const cuts = new Set([0, map.length - 1]);
      for (const a of spans) { cuts.add(a.start); cuts.add(a.end); }
      const points = Array.from(cuts).sort((x, y) => x - y);
      for (let i = 0; i + 1 < points.length; i++) {
        const s = points[i], e = points[i + 1];
        const text = body.slice(map[s], map[e]);
        const over = spans.filter((a) => a.start <= s && a.end >= e && a.start < a.end);
        if (over.length === 0) { container.appendChild(document.createTextNode(visible(text))); continue; }
        const shown = over.find((a) => a.status !== "suggested") || over[0];
        const m = el("mark", { "data-annotations": over.map((a) => a.id).join(" "),
                               title: over.map((a) => (a.codeName || "") + (a.status === "suggested" ? " (suggested)" : "")).join(", ") }, text);
        if (shown.status === "suggested") m.classList.add("suggested");
        else m.style.backgroundColor = colourOf(shown.code);
        if (over.length > 1) m.classList.add("overlap");
        container.appendChild(m);
      }
      return container;
    }

    // The code-point range of the selection inside the body, or null.
    function selectionRange(container, body) {
      const sel = window.getSelection();
      if (!sel || sel.rangeCount === 0 || sel.isCollapsed) return null;
      const range = sel.getRangeAt(0);
      if (!container.contains(range.startContainer) || !container.contains(range.endContainer)) return null;
      const before = document.createRange();
      before.setStart(container, 0);
      before.setEnd(range.startContainer, range.startOffset);
      const u16start = before.toString().length;
      const u16end = u16start + range.toString().length;
      const start = codePointsBefore(body, u16start), end = codePointsBefore(body, u16end);
      return end > start ? { start, end, quote: Array.from(body).slice(start, end).join("") } : null;
    }

    async function showRecord(id) {
      const r = await get("/api/record?id=" + encodeURIComponent(id));
      const main = $("main");
      main.replaceChildren();
      const mine = r.done.includes(state.node);
      const head = el("div", {},
        el("h1", { id: "title" }, r.title || r.id),
        el("button", { id: "done", onclick: () => act("/api/done", { record: r.id, done: !mine }) },
           mine ? "Marked done ✓ (d: undo)" : "Mark done (d)"),
        el("span", { class: "keys" }, " select text (mouse, or shift+arrows in the text) then c to code · t tag · m note · j k move · a accept · x reject · e re-span to the selection · [ ] { } move its start or end · Delete remove · d done · Esc back"));
      const meta = el("dl", { class: "meta" });
      for (const [k, v] of r.metadata) meta.append(el("dt", {}, k), el("dd", {}, v));
      const body = renderBody(r.body, r.annotations);
      const list = el("ul", { class: "annotations", id: "annotations" });
      const suggestions = el("ul", { class: "annotations", id: "suggestions" });
      const items = [];
      for (const a of r.annotations) {
        const li = el("li", { "data-id": a.id, "data-status": a.status, "data-author": a.author || "",
                              "data-start": a.start === null ? "" : String(a.start), "data-end": a.end === null ? "" : String(a.end) },
          el("span", { class: "swatch", background: colourOf(a.code) }),
          el("b", {}, a.codeName || "(note)"), " ",
          a.quote !== null ? el("q", {}, a.quote) : null,
          a.value ? el("span", {}, " = " + a.value) : null,
          a.note ? el("div", {}, a.note) : null,
          el("div", { class: "status" }, `${a.status} · ${a.author || ""} · ${a.start !== null ? a.start + "–" + a.end : a.kind}`));
        if (a.status === "suggested" || a.status === "open") {
          li.append(el("button", { class: "accept", onclick: () => act("/api/review", { annotation: a.id, status: "accepted" }) }, "Accept"), " ",
                    el("button", { class: "reject", onclick: () => act("/api/review", { annotation: a.id, status: "rejected" }) }, "Reject"));
        }
        if (a.status !== "suggested" && a.author === state.node) {
          li.append(" ", el("button", { class: "delete", onclick: () => act("/api/delete", { annotation: a.id }) }, "Delete"));
        }
        (a.status === "suggested" ? suggestions : list).appendChild(li);
        items.push(li);
      }
      const side = el("aside", {}, meta, el("h2", {}, "Annotations"), list, el("h2", {}, "Suggestions"), suggestions);
      main.append(head, el("div", { class: "reader" }, body, side));
      const ordered = () => Array.from(main.querySelectorAll("ul.annotations li"));
      current = Math.min(current, Math.max(0, items.length - 1));
      const mark = () => ordered().forEach((li, i) => li.classList.toggle("current", i === current));
      mark();
      const offerCode = () => {
        const s = selectionRange(body, r.body);
        if (s) openPicker({ record: r.id, ...s });
      };
      body.addEventListener("mouseup", () => setTimeout(offerCode, 0));
      const own = (li) => li && li.dataset.status !== "suggested" && li.dataset.author === state.node && li.dataset.start !== "";
      const respan = (li, start, end) => act("/api/respan", { annotation: li.dataset.id, start, end });
      view = {
        kind: "record",
        key(e) {
          const li = ordered()[current];
          if (["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown"].includes(e.key) && document.activeElement === body) {
            // Keyboard selection: a caret in the text, shift extends it.
            const sel = window.getSelection();
            if (!body.contains(sel.anchorNode)) { sel.removeAllRanges(); const r0 = document.createRange(); r0.setStart(body, 0); sel.addRange(r0); }
            const direction = e.key === "ArrowLeft" || e.key === "ArrowUp" ? "backward" : "forward";
            sel.modify(e.shiftKey ? "extend" : "move", direction, e.key === "ArrowUp" || e.key === "ArrowDown" ? "line" : "character");
            return true;
          }
          if (e.key === "c") { offerCode(); return true; }
          if (e.key === "t") { openPicker({ record: r.id, tag: true, quote: r.title || r.id }); return true; }
          if (e.key === "m") { openNote(r.id, selectionRange(body, r.body)); return true; }
          if (own(li) && e.key === "e") {
            const s = selectionRange(body, r.body);
            if (s) respan(li, s.start, s.end); else say("select the text the annotation should cover, then press e", true);
            return true;
          }
          if (own(li) && ["[", "]", "{", "}"].includes(e.key)) {
            let start = Number(li.dataset.start), end = Number(li.dataset.end);
            if (e.key === "[") start -= 1;
            if (e.key === "]") start += 1;
            if (e.key === "{") end -= 1;
            if (e.key === "}") end += 1;
            respan(li, start, end);
            return true;
          }
          if (e.key === "d") { act("/api/done", { record: r.id, done: !mine }); return true; }
          if (e.key === "j") { current = Math.min(current + 1, ordered().length - 1); mark(); return true; }
          if (e.key === "k") { current = Math.max(current - 1, 0); mark(); return true; }
          if (li && e.key === "a" && ["suggested", "open"].includes(li.dataset.status)) { act("/api/review", { annotation: li.dataset.id, status: "accepted" }); return true; }
          if (li && e.key === "x" && ["suggested", "open"].includes(li.dataset.status)) { act("/api/review", { annotation: li.dataset.id, status: "rejected" }); return true; }
          if (li && e.key === "Delete" && li.dataset.status !== "suggested" && li.dataset.author === state.node) { act("/api/delete", { annotation: li.dataset.id }); return true; }
          if (e.key === "Escape") { history.back(); return true; }
          return false;
        },
      };
    }

    async function act(path, data) {
      try {
        await post(path, data);
        say("saved");
        // The change count moves with the write: read it now, so that the
        // next poll does not draw the page a second time.
        await loadState();
        await route();
      } catch (err) {
        say(err.message, true);
      }
    }

    // ---- The code picker -------------------------------------------------

    let choice = 0;
    // What the typed text folds to (Traditional as Simplified), asked of
    // the server, which folds as every search in Margin does.
    let folded = "";
    function matches() {
      const q = $("picker-input").value.trim().toLowerCase();
      return state.codes.filter((c) => !q || c.name.toLowerCase().includes(q) || (folded && c.folded.includes(folded)));
    }
    async function refold() {
      const text = $("picker-input").value.trim();
      const f = text ? (await get("/api/fold?text=" + encodeURIComponent(text))).folded : "";
      if ($("picker-input").value.trim() === text) { folded = f; choice = 0; drawPicker(); }
    }
    function drawPicker() {
      const list = $("picker-list");
      list.replaceChildren();
      matches().forEach((c, i) => {
        const li = el("li", { "data-id": c.id }, el("span", { class: "swatch", background: c.colour }), c.name);
        if (i === choice) li.classList.add("current");
        li.addEventListener("click", () => { choice = i; codeSelection(); });
        list.appendChild(li);
      });
    }
    function openPicker(selection) {
      pending = selection;
      choice = 0;
      folded = "";
      $("picker-quote").textContent = (selection.tag ? "tag the record: " : "") + "“" + visible(selection.quote) + "”";
      $("picker-input").value = "";
      $("picker-value").value = "";
      $("picker-note").value = "";
      $("picker").hidden = false;
      drawPicker();
      $("picker-input").focus();
    }
    function closePicker() {
      $("picker").hidden = true;
      pending = null;
    }
    async function codeSelection() {
      const c = matches()[choice];
      if (!pending || !c) return;
      const s = pending;
      const value = $("picker-value").value || null, note = $("picker-note").value || null;
      closePicker();
      const data = s.tag ? { record: s.record, code: c.id, value, note }
                         : { record: s.record, code: c.id, start: s.start, end: s.end, value, note };
      const path = s.tag ? "/api/tag" : "/api/annotate";
      try {
        await post(path, data);
      } catch (err) {
        // Coded the same way already: only on purpose, as --again.
        if (err.status !== 409 || !window.confirm(err.message + ". Code it a second time?")) { say(err.message, true); return; }
        data.again = true;
        return act(path, data);
      }
      say("saved");
      await loadState();
      await route();
    }

    // ---- Notes -----------------------------------------------------------

    let noteFor = null;
    function openNote(record, selection) {
      noteFor = { record, selection };
      $("note-quote").textContent = selection ? "“" + visible(selection.quote) + "”" : "a note on the whole record";
      $("note-text").value = "";
      $("note-dialog").hidden = false;
      $("note-text").focus();
    }
    function noteKey(e) {
      if (e.key === "Escape") { $("note-dialog").hidden = true; noteFor = null; e.preventDefault(); return; }
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        const text = $("note-text").value.trim(), n = noteFor;
        $("note-dialog").hidden = true;
        noteFor = null;
        if (text && n) act("/api/note", { record: n.record, text, start: n.selection ? n.selection.start : null, end: n.selection ? n.selection.end : null });
      }
    }
    function pickerKey(e) {
      if (e.key === "Escape") { closePicker(); e.preventDefault(); return; }
      if (e.key === "Enter") { e.preventDefault(); codeSelection(); return; }
      if (e.target === $("picker-input")) {
        if (/^[1-9]$/.test(e.key) && $("picker-input").value === "") {
          const i = Number(e.key) - 1;
          if (i < matches().length) { e.preventDefault(); choice = i; codeSelection(); }
          return;
        }
        if (e.key === "ArrowDown") { choice = Math.min(choice + 1, matches().length - 1); drawPicker(); e.preventDefault(); }
        if (e.key === "ArrowUp") { choice = Math.max(choice - 1, 0); drawPicker(); e.preventDefault(); }
      }
    }

    // ---- Review: the walk of `margin review` ------------------------------

    let reviewIndex = 0;
    function sideBySide(c) {
      const column = (label, side) => el("div", { class: "side" },
        el("h3", {}, label), el("div", { class: "status" }, `${side.by} · ${side.at}`),
        el("pre", {}, side.lines.join("\n")));
      return el("div", { class: "sides" }, column("Shown (winner)", c.winner), column("Kept (other)", c.other));
    }
    function about(c) {
      const a = c.about;
      return el("p", {}, `${a.kind} · ${c.field}`, a.title ? " · " + a.title : "", a.code ? " · " + a.code : "",
                a.quote ? el("q", {}, a.quote) : null);
    }
    async function showReview() {
      const queue = await get("/api/review"), items = queue.items;
      const main = $("main");
      main.replaceChildren();
      reviewIndex = Math.min(reviewIndex, Math.max(0, items.length - 1));
      main.appendChild(el("h1", {}, "Review"));
      if (items.length === 0) { main.appendChild(el("p", { id: "review-empty" }, "Nothing to review.")); view = null; return; }
      const item = items[reviewIndex];
      main.appendChild(el("p", { id: "review-position" }, `${reviewIndex + 1} of ${items.length}` +
                          (queue.more ? " (the first 200 of each kind; more come as these are decided)" : "")));
      const box = el("div", { class: "review-item", id: "review-item", "data-type": item.type });
      const keys = el("p", { class: "keys" });
      if (item.type === "annotation") {
        const a = item.annotation;
        box.append(el("h2", {}, el("span", { class: "swatch", background: colourOf(a.code) }), a.codeName || "(note)", " · ", a.status),
                   el("p", {}, el("a", { href: "#/record/" + encodeURIComponent(item.record) }, item.title)),
                   a.quote !== null ? el("blockquote", {}, a.quote) : null,
                   a.value ? el("p", {}, "value: " + a.value) : null, a.note ? el("p", {}, "note: " + a.note) : null,
                   el("p", { class: "status" }, `by ${a.author || ""}`));
        keys.textContent = "a accept · x reject · n next · b back";
      } else {
        box.append(el("h2", {}, "Conflict"), about(item.conflict), sideBySide(item.conflict));
        keys.textContent = "w keep the shown value · o keep the other · n next · b back";
      }
      main.append(box, keys);
      view = {
        kind: "review",
        key(e) {
          if (e.key === "n") { reviewIndex = Math.min(reviewIndex + 1, items.length - 1); showReview(); return true; }
          if (e.key === "b") { reviewIndex = Math.max(reviewIndex - 1, 0); showReview(); return true; }
          if (item.type === "annotation") {
            if (e.key === "a") { act("/api/review", { annotation: item.annotation.id, status: "accepted" }); return true; }
            if (e.key === "x") { act("/api/review", { annotation: item.annotation.id, status: "rejected" }); return true; }
          } else {
            if (e.key === "w") { act("/api/resolve", { conflict: item.conflict.id, keep: "winner" }); return true; }
            if (e.key === "o") { act("/api/resolve", { conflict: item.conflict.id, keep: "other" }); return true; }
          }
          return false;
        },
      };
    }

    // ---- Conflicts, side by side -----------------------------------------

    async function showConflicts() {
      const list = await get("/api/conflicts");
      const main = $("main");
      main.replaceChildren(el("h1", {}, "Conflicts"), el("p", { id: "conflict-count" }, `${list.length} open`),
                           el("p", { class: "keys" }, "j k move · w keep shown · o keep other · Tab to the comment"));
      const resolvers = [];
      for (const c of list) {
        const comment = el("input", { class: "comment", placeholder: "comment (optional)", "aria-label": "comment" });
        const value = el("input", { class: "value", placeholder: "or a value of your own", "aria-label": "value" });
        const done = (body) => act("/api/resolve", Object.assign({ conflict: c.id, comment: comment.value || null }, body));
        main.appendChild(el("section", { class: "conflict", "data-id": c.id },
          about(c), sideBySide(c),
          el("div", { class: "resolve" }, comment,
             el("button", { class: "keep-winner", onclick: () => done({ keep: "winner" }) }, "Keep shown"),
             el("button", { class: "keep-other", onclick: () => done({ keep: "other" }) }, "Keep other"),
             value, el("button", { class: "keep-value", onclick: () => value.value && done({ value: value.value }) }, "Write value"))));
        resolvers.push(done);
      }
      const sections = () => Array.from(main.querySelectorAll("section.conflict"));
      current = Math.min(current, Math.max(0, list.length - 1));
      const mark = () => sections().forEach((x, i) => x.classList.toggle("current", i === current));
      mark();
      view = {
        kind: "conflicts",
        key(e) {
          if (e.key === "j") { current = Math.min(current + 1, list.length - 1); mark(); sections()[current].scrollIntoView({ block: "nearest" }); return true; }
          if (e.key === "k") { current = Math.max(current - 1, 0); mark(); sections()[current].scrollIntoView({ block: "nearest" }); return true; }
          if (e.key === "w" && resolvers[current]) { resolvers[current]({ keep: "winner" }); return true; }
          if (e.key === "o" && resolvers[current]) { resolvers[current]({ keep: "other" }); return true; }
          return false;
        },
      };
    }

    // ---- Team: compare, adjudicate, agreement and frequencies ------------

    const svgNS = "http://www.w3.org/2000/svg";
    function svg(tag, attrs, text) {
      const e = document.createElementNS(svgNS, tag);
      for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
      if (text !== undefined) e.textContent = visible(text);
      return e;
    }
    // Horizontal bars on a 0–1 scale (or 0–max), with 95% intervals as
    // whiskers: one row per (label, value, low, high).
    function barChart(id, rows, max) {
      const rowH = 22, left = 260, width = 420, height = rows.length * rowH + 30;
      const chart = svg("svg", { id, width: left + width + 60, height, role: "img" });
      const x = (v) => left + (max > 0 ? v / max : 0) * width;
      for (const t of [0, 0.25, 0.5, 0.75, 1]) {
        chart.appendChild(svg("line", { x1: x(t * max), x2: x(t * max), y1: 0, y2: height - 20, class: "grid" }));
        chart.appendChild(svg("text", { x: x(t * max), y: height - 5, "text-anchor": "middle", class: "axis" }, String(Math.round(t * max * 100) / 100)));
      }
      rows.forEach((r, i) => {
        const y = i * rowH + 4;
        chart.appendChild(svg("text", { x: left - 6, y: y + 13, "text-anchor": "end", class: "label" }, r.label));
        if (r.value === null) { chart.appendChild(svg("text", { x: left + 4, y: y + 13, class: "axis" }, "—")); return; }
        const bar = svg("rect", { x: left, y, width: Math.max(0, x(Math.max(0, r.value)) - left), height: 16, class: "bar", "data-value": r.value });
        bar.style.fill = r.colour || "#61afef";
        chart.appendChild(bar);
        if (r.low !== null && r.low !== undefined) chart.appendChild(svg("line", { x1: x(Math.max(0, r.low)), x2: x(Math.max(0, r.high)), y1: y + 8, y2: y + 8, class: "whisker" }));
        chart.appendChild(svg("text", { x: x(Math.max(0, r.value)) + 4, y: y + 13, class: "value" }, String(r.value)));
      });
      return chart;
    }

    async function showTeam() {
      const p = params();
      const coders = await get("/api/coders");
      const main = $("main");
      main.replaceChildren(el("h1", {}, "Team"));
      const form = el("form", { class: "filters", id: "team-form" });
      const pick = (name, chosen) => choices(name, "team-" + name, null, coders.map((c) => [c, c]), chosen);
      const first = p.get("a") || coders[0] || "", second = p.get("b") || coders[1] || "";
      const records = await get("/api/records?limit=500");
      // The address may name the record by a prefix of its id, as the CLI does.
      const chosen = p.get("record") || "";
      const recordSelect = choices("record", "team-record", null, records.records.map((r) => [r.id, r.title || r.id]), (id) => chosen && id.startsWith(chosen));
      form.append(el("label", {}, "Coder A ", pick("a", first)), el("label", {}, "Coder B ", pick("b", second)),
                  el("label", {}, "Record ", recordSelect), el("button", { type: "submit" }, "Compare"));
      submitsTo(form, "#/team");
      main.appendChild(form);
      const pair = first && second && first !== second ? `${first},${second}` : null;
      if (pair && p.get("record")) {
        const record = p.get("record");
        const cmp = await get(`/api/compare?record=${encodeURIComponent(record)}&coders=${encodeURIComponent(pair)}`);
        const table = el("table", { id: "differences" }, el("thead", {}, el("tr", {}, el("th", {}, first), el("th", {}, second), el("th", {}, "differs in"), el("th", {}, "into gold"))));
        const tbody = el("tbody");
        const cell = (a) => a ? el("td", {}, el("span", { class: "swatch", background: colourOf(a.code) }), a.codeName || "", " ",
                                   a.quote !== null ? el("q", {}, a.quote) : null, a.value ? " = " + a.value : "") : el("td", {}, "—");
        for (const d of cmp.differ) {
          const take = (t) => act("/api/adjudicate", { record, coders: pair, index: d.index, take: t,
                                                       first: d.first ? d.first.id : null, second: d.second ? d.second.id : null });
          tbody.appendChild(el("tr", { "data-index": String(d.index) }, cell(d.first), cell(d.second), el("td", {}, d.kind + (d.fields.length ? ": " + d.fields.join(", ") : "")),
            el("td", {}, d.settled ? "settled" : el("span", {},
              el("button", { class: "take-first", onclick: () => take("first") }, first), " ",
              el("button", { class: "take-second", onclick: () => take("second") }, second), " ",
              el("button", { class: "take-both", onclick: () => take("both") }, "both"), " ",
              el("button", { class: "take-neither", onclick: () => take("neither") }, "neither")))));
        }
        table.appendChild(tbody);
        main.append(el("h2", {}, `Compared: ${cmp.agreed.length} agreed, ${cmp.differ.length} differ, ${cmp.gold.length} in gold`), table);
      }
      // Agreement per code, as `margin agree --json` computes it.
      const query = pair ? "?coders=" + encodeURIComponent(pair) : "";
      try {
        const r = await get("/api/agree" + query);
        const rows = [];
        for (const t of r.tags) {
          rows.push({ label: `${t.code} · ${r.coders.length === 2 ? "Cohen κ" : "Fleiss κ"}`, value: t.kappa ? t.kappa.value : null });
          rows.push({ label: `${t.code} · α`, value: t.alpha ? t.alpha.value : null, low: t.alpha_ci95 ? t.alpha_ci95[0] : null, high: t.alpha_ci95 ? t.alpha_ci95[1] : null });
        }
        for (const sp of r.spans) {
          rows.push({ label: `${sp.code} · span F1 exact`, value: sp.exact_f1, colour: "#a682e0" });
          rows.push({ label: `${sp.code} · span F1 overlap`, value: sp.overlap_f1, low: sp.overlap_f1_ci95 ? sp.overlap_f1_ci95[0] : null, high: sp.overlap_f1_ci95 ? sp.overlap_f1_ci95[1] : null, colour: "#a682e0" });
        }
        main.append(el("h2", {}, `Agreement: ${r.coders.join(", ")} on ${r.records} records marked done by two or more`),
                    rows.length ? barChart("agreement-chart", rows, 1) : el("p", {}, "Nothing to compare yet: records need done marks from two coders."),
                    el("p", {}, el("a", { href: "/api/agree.csv" + query, id: "agreement-csv", download: "agreement.csv" }, "The numbers as CSV")));
      } catch (err) {
        main.append(el("h2", {}, "Agreement"), el("p", {}, err.message));
      }
      // Code frequencies by place or month.
      const by = p.get("by") || "place";
      const f = await get("/api/frequencies?by=" + by);
      const totals = new Map();
      for (const row of f.rows) {
        const key = `${row.group} · ${row.code}` + (row.layer ? ` (${row.layer})` : "");
        totals.set(key, { label: key, value: row.annotations, colour: colourOfName(row.code) });
      }
      const max = Math.max(1, ...Array.from(totals.values()).map((r) => r.value));
      const switcher = choices("by", "frequency-by", null, ["place", "month", "source"].map((g) => [g, g]), by);
      switcher.addEventListener("change", () => { const q = params(); q.set("by", switcher.value); location.hash = "#/team?" + q.toString(); });
      main.append(el("h2", {}, "Code frequencies by ", switcher),
                  totals.size ? barChart("frequency-chart", Array.from(totals.values()), max) : el("p", {}, "No coding yet."),
                  el("p", {}, el("a", { href: "/api/frequencies.csv?by=" + by, id: "frequency-csv", download: "frequencies.csv" }, "The numbers as CSV")));
      view = null;
    }
    function colourOfName(path) {
      const name = path.split("/").pop();
      const c = state.codes.find((c) => c.name === name);
      return c ? c.colour : "#61afef";
    }

    // ---- Sync --------------------------------------------------------------

    async function showSync() {
      const peers = await get("/api/peers");
      const main = $("main");
      const address = el("input", { id: "sync-address", placeholder: "HOST:PORT of a peer running margin serve", "aria-label": "peer address" });
      const progress = el("p", { id: "sync-progress", role: "status" });
      const run = async (to) => {
        if (!to) return;
        const watch = setInterval(async () => {
          const s = await get("/api/sync-status");
          if (s.running) progress.textContent = `syncing with ${s.peer}: sent ${s.sent}, received ${s.received}`;
        }, 300);
        try {
          const r = await post("/api/sync", { address: to });
          progress.textContent = r.line;
          await loadState();
        } catch (err) {
          progress.textContent = err.message;
        } finally {
          clearInterval(watch);
        }
      };
      const table = el("table", { id: "peers" }, el("thead", {}, el("tr", {}, el("th", {}, "Peer"), el("th", {}, "Address"), el("th", {}, "Last sync"), el("th", {}, ""))));
      const tbody = el("tbody");
      for (const peer of peers) {
        tbody.appendChild(el("tr", {}, el("td", {}, peer.name), el("td", {}, peer.address || ""), el("td", {}, peer.last_sync || ""),
          el("td", {}, peer.address ? el("button", { class: "sync-peer", onclick: () => run(peer.address) }, "Sync now") : "")));
      }
      table.appendChild(tbody);
      main.replaceChildren(el("h1", {}, "Sync"), table,
        el("p", {}, address, " ", el("button", { id: "sync-now", onclick: () => run(address.value.trim()) }, "Sync now")), progress);
      view = null;
    }

    // ---- Routing, keys, live updates -------------------------------------

    async function route() {
      try {
        const h = location.hash || "#/records";
        if (h.startsWith("#/record/")) await showRecord(decodeURIComponent(h.slice(9)));
        else if (h.startsWith("#/review")) await showReview();
        else if (h.startsWith("#/conflicts")) await showConflicts();
        else if (h.startsWith("#/team")) await showTeam();
        else if (h.startsWith("#/sync")) await showSync();
        else await showRecords();
      } catch (err) {
        say(err.message, true);
      } finally {
        // Drawn (or failed, said in the header): what a test waits for.
        document.body.dataset.ready = String(performance.now());
      }
    }

    document.addEventListener("keydown", (e) => {
      if (!$("picker").hidden) { pickerKey(e); return; }
      if (!$("note-dialog").hidden) { noteKey(e); return; }
      const t = e.target;
      if (t && (t.tagName === "INPUT" || t.tagName === "SELECT" || t.tagName === "TEXTAREA")) return;
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      if (view && view.key(e)) e.preventDefault();
    });
    document.addEventListener("input", (e) => { if (e.target === $("picker-input")) { choice = 0; drawPicker(); refold(); } });
    window.addEventListener("hashchange", () => { current = 0; route(); });

    // Changes from a sync or from the CLI: the page reads again when the
    // store's change count moves (unless a code is being picked).
    async function poll() {
      try {
        const v = await get("/api/version");
        const typing = document.activeElement && ["INPUT", "SELECT", "TEXTAREA"].includes(document.activeElement.tagName);
        if (v.changes !== state.changes && !pending && !typing) {
          await loadState();
          await route();
        }
      } catch (err) { /* the next poll tries again */ }
      setTimeout(poll, 2000);
    }

    loadState().then(route).then(() => setTimeout(poll, 2000)).catch((err) => say(err.message, true));
    })();
    """#
}
