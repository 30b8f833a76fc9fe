/* dossier: search as you type, link previews and timeline filters.
   A classic script (no modules, no fetch): everything works when opened from disk.
   The search index is assets/search-index.js, loaded on first use by a <script> tag. */
(function () {
  "use strict";
  var doc = document, root = doc.documentElement.getAttribute("data-root") || "";
  var index = null, byUrl = null, waiting = [];
  var KINDS = {person: "Person", organization: "Organization", event: "Event",
               quote: "Quote", source: "Source"};

  function fold(text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }

  function absolute(url) { return new URL(root + url, doc.baseURI).href.split("#")[0]; }

  function withIndex(callback) {
    if (index) { callback(index); return; }
    waiting.push(callback);
    if (waiting.length > 1) return;
    var script = doc.createElement("script");
    script.src = root + "assets/search-index.js";
    script.onload = function () {
      index = window.DOSSIER_SEARCH || [];
      byUrl = {};
      index.forEach(function (row) { if (row[0] !== "quote") byUrl[absolute(row[2])] = row; });
      waiting.splice(0).forEach(function (f) { f(index); });
    };
    doc.head.appendChild(script);
  }

  /* Ranking: a match in a name or title beats one in the text; a whole word beats the
     start of a word, which beats any substring; people and organizations come before
     events, events before sources and quotes. Every word of the query must match. */
  var BONUS = {person: 20, organization: 20, event: 10, source: 5, quote: 0};
  function score(row, terms) {
    var heading = " " + fold(row[1]).replace(/[^a-z0-9]+/g, " ") + " " + row[5] + " ",
        words = " " + row[6] + " ", total = 0;
    for (var i = 0; i < terms.length; i++) {
      var t = terms[i], s = 0;
      if (heading.indexOf(" " + t + " ") >= 0) s = 90;
      else if (heading.indexOf(" " + t) >= 0) s = 70;
      else if (heading.indexOf(t) >= 0) s = 40;
      else if (words.indexOf(" " + t + " ") >= 0) s = 15;
      else if (words.indexOf(t) >= 0) s = 8;
      if (!s) return 0;
      total += s;
    }
    return total + BONUS[row[0]];
  }

  function search(query, limit) {
    var terms = fold(query).split(/[^a-z0-9]+/).filter(Boolean);
    if (!terms.length) return [];
    var found = [];
    index.forEach(function (row, i) {
      var s = score(row, terms);
      if (s) found.push([s, i, row]);
    });
    found.sort(function (a, b) { return b[0] - a[0] || a[1] - b[1]; });
    return found.slice(0, limit).map(function (f) { return f[2]; });
  }

  function resultItem(row, id) {
    var li = doc.createElement("li"), a = doc.createElement("a");
    li.id = id;
    li.setAttribute("role", "option");
    li.className = "result result-" + row[0];
    a.href = root + row[2];
    a.tabIndex = -1;
    var kind = doc.createElement("span"), title = doc.createElement("span"),
        detail = doc.createElement("span"), snippet = doc.createElement("span");
    kind.className = "result-kind"; kind.textContent = KINDS[row[0]];
    title.className = "result-title"; title.textContent = row[1];
    detail.className = "result-detail"; detail.textContent = row[3];
    snippet.className = "result-snippet"; snippet.textContent = row[4];
    a.appendChild(kind); a.appendChild(title);
    if (row[3]) a.appendChild(detail);
    if (row[4]) a.appendChild(snippet);
    li.appendChild(a);
    return li;
  }

  /* A combobox: the input keeps focus, arrows move the active option, Enter opens it. */
  function combobox(input, list, status, limit) {
    var active = -1;
    function options() { return list.querySelectorAll("[role=option]"); }
    function activate(n) {
      var items = options();
      if (!items.length) return;
      active = (n + items.length) % items.length;
      for (var i = 0; i < items.length; i++) items[i].setAttribute("aria-selected", i === active);
      input.setAttribute("aria-activedescendant", items[active].id);
      items[active].scrollIntoView({block: "nearest"});
    }
    function show(rows) {
      list.textContent = "";
      active = -1;
      input.removeAttribute("aria-activedescendant");
      rows.forEach(function (row, i) { list.appendChild(resultItem(row, list.id + "-" + i)); });
      var open = input.value.trim() !== "";
      list.hidden = !open;
      input.setAttribute("aria-expanded", open && rows.length > 0);
      status.textContent = open ? (rows.length ? rows.length + (rows.length === limit ? "+" : "") +
        " result" + (rows.length === 1 ? "" : "s") + " for “" + input.value.trim() + "”"
        : "No results for “" + input.value.trim() + "”") : "";
      if (open && !rows.length) {
        var li = doc.createElement("li");
        li.className = "no-results";
        li.textContent = "No results. Browse the timeline, who’s who, quotes or sources.";
        list.appendChild(li);
      }
    }
    function update() { withIndex(function () { show(search(input.value, limit)); }); }
    input.addEventListener("input", update);
    input.addEventListener("focus", function () { withIndex(function () {}); });
    input.addEventListener("keydown", function (e) {
      if (e.key === "ArrowDown") { e.preventDefault(); activate(active + 1); }
      else if (e.key === "ArrowUp") { e.preventDefault(); activate(active - 1); }
      else if (e.key === "Enter" && active >= 0) {
        e.preventDefault();
        location.href = options()[active].querySelector("a").href;
      } else if (e.key === "Escape") { input.value = ""; show([]); }
    });
    return update;
  }

  function setUpSearch() {
    var form = doc.querySelector(".site-search");
    if (form) {
      var input = form.querySelector("input"), list = form.querySelector("[role=listbox]");
      combobox(input, list, form.querySelector("[role=status]"), 8);
      doc.addEventListener("click", function (e) {
        if (!form.contains(e.target)) { list.hidden = true; input.setAttribute("aria-expanded", "false"); }
      });
    }
    var page = doc.getElementById("search-page");
    if (page) {
      var q = page.querySelector("input");
      var run = combobox(q, page.querySelector("[role=listbox]"), page.querySelector("[role=status]"), 50);
      var param = new URLSearchParams(location.search).get("q");
      if (param) { q.value = param; run(); }
      q.focus();
    }
    doc.addEventListener("keydown", function (e) {
      var target = e.target, typing = /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName) || target.isContentEditable;
      if (e.key === "/" && !typing && !e.ctrlKey && !e.metaKey && !e.altKey) {
        var box = doc.getElementById("search-page-q") || doc.getElementById("site-search-q");
        if (box) { e.preventDefault(); box.focus(); box.select(); }
      }
    });
  }

  /* Previews: hovering or focusing a link to a person, organization or event shows its
     name, role or date, and summary, from the search index (no fetch). */
  function setUpPreviews() {
    var tip = doc.createElement("div"), current = null;
    tip.className = "preview";
    tip.id = "link-preview";
    tip.setAttribute("role", "tooltip");
    tip.hidden = true;
    doc.body.appendChild(tip);
    function previewable(a) {
      return a && a.matches && a.matches("main a[href], .chart a") && !a.closest(".site-search, #search-page") &&
        /\/(people|organizations|events)\/[^\/]+\.html$/.test(new URL(a.href, doc.baseURI).pathname);
    }
    function open(a) {
      withIndex(function () {
        var row = byUrl[new URL(a.href, doc.baseURI).href.split("#")[0]];
        if (!row || current !== a) return;
        tip.textContent = "";
        [["preview-kind", KINDS[row[0]]], ["preview-title", row[1]], ["preview-detail", row[3]],
         ["preview-snippet", row[4]]].forEach(function (part) {
          if (!part[1]) return;
          var span = doc.createElement("span");
          span.className = part[0]; span.textContent = part[1];
          tip.appendChild(span);
        });
        var box = a.getBoundingClientRect();
        tip.hidden = false;
        var left = Math.min(box.left + window.scrollX, window.scrollX + doc.documentElement.clientWidth - tip.offsetWidth - 8);
        tip.style.left = Math.max(8, left) + "px";
        tip.style.top = (box.bottom + window.scrollY + 6) + "px";
        a.setAttribute("aria-describedby", tip.id);
      });
    }
    function close() {
      if (current) current.removeAttribute("aria-describedby");
      current = null;
      tip.hidden = true;
    }
    function enter(e) {
      var a = e.target.closest ? e.target.closest("a") : null;
      if (!previewable(a) || a === current) return;
      close();
      current = a;
      open(a);
    }
    function leave(e) {
      var a = e.target.closest ? e.target.closest("a") : null;
      if (a && a === current && !(e.relatedTarget && a.contains(e.relatedTarget))) close();
    }
    doc.addEventListener("mouseover", enter);
    doc.addEventListener("focusin", enter);
    doc.addEventListener("mouseout", leave);
    doc.addEventListener("focusout", leave);
    doc.addEventListener("keydown", function (e) { if (e.key === "Escape") close(); });
  }

  /* Timeline filters: by person, organization and tag. Without JS the full list stays. */
  function setUpFilters() {
    var form = doc.getElementById("timeline-filters");
    if (!form) return;
    var selects = form.querySelectorAll("select"), output = form.querySelector("output");
    var items = doc.querySelectorAll(".tl-event"), marks = doc.querySelectorAll(".chart a[data-event]");
    function apply() {
      var wanted = {};
      selects.forEach(function (s) { if (s.value) wanted[s.name] = s.value; });
      var shown = {}, count = 0;
      items.forEach(function (li) {
        var ok = Object.keys(wanted).every(function (key) {
          return (li.getAttribute("data-" + key) || "").split("|").indexOf(wanted[key]) >= 0;
        });
        li.hidden = !ok;
        if (ok) { count++; shown[li.id.slice(2)] = true; }
      });
      doc.querySelectorAll(".tl-group").forEach(function (group) {
        group.hidden = !group.querySelector(".tl-event:not([hidden])");
      });
      marks.forEach(function (m) { m.classList.toggle("dimmed", !shown[m.getAttribute("data-event")]); });
      output.textContent = Object.keys(wanted).length ? "Showing " + count + " of " + items.length + " events"
        : "Showing all " + items.length + " events";
    }
    selects.forEach(function (s) { s.addEventListener("change", apply); });
    form.addEventListener("reset", function () { setTimeout(apply, 0); });
    apply();
  }

  setUpSearch();
  setUpPreviews();
  setUpFilters();
})();
