// The outfit builder without reloads: picking an item, choosing a method or applying the
// suggested swap asks POST /api/v1/explain and redraws the explanation; the address keeps the
// selection (?items=...&method=...) so a reload or a shared link shows the same outfit. Without
// JavaScript the picker is a GET form and the page is explained on the server. "Wore this
// today" logs the explained outfit through POST /api/v1/wears (a POST form without JavaScript).
(function () {
  "use strict";
  var root = document.getElementById("builder");
  if (!root || !window.fetch) { return; }
  document.documentElement.classList.add("js");
  var picker = document.getElementById("picker");
  var methodSelect = document.getElementById("method");
  var statusLine = document.getElementById("explain-status");
  var errorBox = document.getElementById("explain-error");
  var result = document.getElementById("result");
  var panel = document.getElementById("explanation");
  var toggle = document.getElementById("show-heatmaps");
  var pixelSelect = document.getElementById("pixel-method");
  var ui = window.OutfitUI;
  var el = ui.el, pct = ui.pct, thumb = ui.thumb, clear = ui.clear;
  var api = root.getAttribute("data-api");
  var heatmapApi = root.getAttribute("data-heatmap");
  var page = root.getAttribute("data-page");
  var SLOTS = {outer: "Outerwear", upper: "Tops", lower: "Bottoms", full: "One-pieces", shoes: "Shoes", accessory: "Accessories"};
  var GROUPS = {color: "Colour", shape: "Shape", pattern: "Pattern", style: "Style"};
  var SVG = "http://www.w3.org/2000/svg";
  var current = null;   // the last explanation
  var request = 0;      // answers to older requests are dropped

  function boxes() { return Array.prototype.slice.call(picker.querySelectorAll('input[name="items"]')); }
  function selected() { return boxes().filter(function (b) { return b.checked; }).map(function (b) { return b.value; }); }
  function signed(v) { return v === null || v === undefined ? "\u2014" : (v >= 0 ? "+" : "") + v.toFixed(2); }
  function heatClass(v, scale) {
    if (v === null || v === undefined) { return "heat-na"; }
    if (scale <= 0) { return "heat-0"; }
    var step = Math.max(-5, Math.min(5, Math.round(v / scale * 5)));
    return step === 0 ? "heat-0" : "heat-" + (step < 0 ? "n" : "p") + Math.abs(step);
  }

  function remember(ids) {
    var q = new URLSearchParams();
    if (ids.length) { q.set("items", ids.join(",")); }
    q.set("method", methodSelect.value);
    history.replaceState(null, "", page + "?" + q.toString());
  }

  function showError(message, hint) {
    errorBox.textContent = message + (hint ? " (" + hint + ")" : "");
    errorBox.hidden = false;
  }

  function explain() {
    var ids = selected();
    remember(ids);
    errorBox.hidden = true;
    if (!ids.length) {
      result.hidden = true;
      statusLine.textContent = "Choose items on the left: a top and a bottom (or a one-piece), and shoes.";
      return Promise.resolve();
    }
    var mine = ++request;
    statusLine.textContent = "Explaining\u2026";
    panel.setAttribute("aria-busy", "true");
    return ui.postJSON(api, {items: ids, method: methodSelect.value}).then(function (answer) {
      if (mine !== request) { return; }
      panel.setAttribute("aria-busy", "false");
      statusLine.textContent = "";
      if (!answer.ok) {
        var e = ui.errorOf(answer);
        result.hidden = true;
        showError(e.message, e.hint);
        return;
      }
      render(answer.data);
    }).catch(function () {
      if (mine !== request) { return; }
      panel.setAttribute("aria-busy", "false");
      statusLine.textContent = "";
      showError("The server could not be reached.", "check that it is running, then try again");
    });
  }

  // A model that reads photos by their tags has no pixel maps: say so instead of the tools.
  function applyReads(reads) {
    var byTags = reads === "tags";
    document.getElementById("reads-tags").hidden = !byTags;
    document.getElementById("photo-tools").hidden = byTags;
    if (byTags) { toggle.checked = false; }
  }

  function render(data) {
    current = data;
    applyReads(data.reads);
    var att = data.attribution;
    document.getElementById("score").textContent = pct(data.score);
    document.getElementById("logit").textContent = signed(data.logit);
    document.getElementById("used-method").textContent = data.method;

    var note = document.getElementById("incomplete");
    note.hidden = data.complete;
    note.textContent = "Not a complete outfit yet: it needs a top and a bottom (or a one-piece) and shoes." +
      (data.open_slots.length ? " You can add: " + data.open_slots.map(function (s) { return (SLOTS[s] || s).toLowerCase(); }).join(", ") + "." : "");

    var reasons = document.getElementById("reasons");
    clear(reasons);
    data.reasons.forEach(function (r) { reasons.appendChild(el("li", null, r)); });

    renderFix(data.suggestion);
    renderHint(data.property_hints);
    renderPhotos(data.items);
    document.getElementById("wear-items").value = data.items.map(function (it) { return it.id; }).join(",");
    document.getElementById("wear-next").value = location.pathname + location.search;
    document.getElementById("wear-note").textContent = "";

    document.getElementById("bars-caption").textContent = att.by_group
      ? "Logit points: each item's most harmful property (its lowest feature-group value) and its total, on one scale."
      : "This method attributes whole items only: both bars show the item's total.";
    var bars = document.querySelector("#bars tbody");
    clear(bars);
    data.items.forEach(function (it, k) {
      var tr = el("tr");
      var th = el("th", null, it.label);
      th.scope = "row";
      tr.appendChild(th);
      [att.item_blame[k], att.item_totals[k]].forEach(function (v) {
        v = v || 0;
        var td = el("td");
        td.appendChild(barSvg(v, att.bar_scale));
        tr.appendChild(td);
        tr.appendChild(el("td", "num", signed(v)));
      });
      bars.appendChild(tr);
    });

    var head = document.querySelector("#heat thead tr");
    clear(head);
    var first = el("th", null, "Item");
    first.scope = "col";
    head.appendChild(first);
    att.groups.concat(["Total"]).forEach(function (g) {
      var th = el("th", null, GROUPS[g] || g);
      th.scope = "col";
      head.appendChild(th);
    });
    var body = document.querySelector("#heat tbody");
    clear(body);
    data.items.forEach(function (it, k) {
      var tr = el("tr");
      var th = el("th", null, it.label);
      th.scope = "row";
      tr.appendChild(th);
      att.values[k].forEach(function (v) { tr.appendChild(el("td", "num " + heatClass(v, att.scale), signed(v))); });
      tr.appendChild(el("td", "num", signed(att.item_totals[k])));
      body.appendChild(tr);
    });
    result.hidden = false;
  }

  function barSvg(v, scale) {
    var svg = document.createElementNS(SVG, "svg");
    [["class", "bar"], ["viewBox", "0 0 200 16"], ["width", "200"], ["height", "16"], ["role", "img"],
     ["aria-label", signed(v) + " points"]].forEach(function (a) { svg.setAttribute(a[0], a[1]); });
    var axis = document.createElementNS(SVG, "line");
    [["x1", 100], ["y1", 0], ["x2", 100], ["y2", 16], ["class", "axis"]].forEach(function (a) { axis.setAttribute(a[0], a[1]); });
    var frac = scale > 0 ? Math.max(-1, Math.min(1, v / scale)) : 0;
    var width = Math.abs(frac) * 100;
    var rect = document.createElementNS(SVG, "rect");
    [["x", frac < 0 ? 100 - width : 100], ["y", 3], ["width", width], ["height", 10],
     ["class", v < 0 ? "neg" : "pos"]].forEach(function (a) { rect.setAttribute(a[0], a[1]); });
    svg.appendChild(axis);
    svg.appendChild(rect);
    return svg;
  }

  function renderFix(s) {
    var fix = document.getElementById("fix");
    clear(fix);
    var p = el("p", null, s.sentence);
    p.id = "fix-sentence";
    fix.appendChild(p);
    var best = s.replacements[0];
    if (!best || best.gain <= 0) { return; }
    var shown = pct(best.score);
    if (shown === pct(s.score)) { shown = (best.score * 100).toFixed(1) + " %"; }  // as the sentence
    var a = el("a", "button", "Apply: " + (best.item ? "swap in " + best.label : "take it off") + " (" + shown + ")");
    a.id = "apply-swap";
    a.href = "#";
    a.setAttribute("data-from", s.item);
    a.setAttribute("data-to", best.item || "");
    var wrap = el("p");
    wrap.appendChild(a);
    fix.appendChild(wrap);
  }

  function renderHint(h) {
    var box = document.getElementById("shopping-hint");
    clear(box);
    var p = el("p");
    p.appendChild(el("strong", null, "Shopping hint:"));
    p.appendChild(document.createTextNode(" "));
    var sentence = el("span", null, h.sentence);
    sentence.id = "hint-sentence";
    p.appendChild(sentence);
    box.appendChild(p);
    var list = el("ul", "hint-list");
    list.id = "hint-list";
    h.hints.slice(1).forEach(function (x) { list.appendChild(el("li", null, x.sentence)); });
    box.appendChild(list);
  }

  function heatmapUrl(ids, id) {
    var q = new URLSearchParams({items: ids.join(","), item: id, method: pixelSelect.value});
    return heatmapApi + "?" + q.toString();
  }

  function renderPhotos(items) {
    var list = document.getElementById("outfit-photos");
    clear(list);
    items.forEach(function (it) {
      var li = el("li");
      var fig = el("figure");
      var img = el("img");
      img.setAttribute("data-item", it.id);
      img.alt = it.label;
      fig.appendChild(img);
      fig.appendChild(el("figcaption", null, it.label));
      li.appendChild(fig);
      list.appendChild(li);
    });
    updatePhotos();
  }

  function updatePhotos() {
    var ids = current ? current.items.map(function (it) { return it.id; }) : selected();
    document.querySelectorAll("#outfit-photos img").forEach(function (img) {
      var id = img.getAttribute("data-item");
      img.src = toggle.checked ? heatmapUrl(ids, id) : thumb(id);
    });
  }

  function applySwap(from, to) {
    boxes().forEach(function (b) {
      if (b.value === from) { b.checked = false; }
      if (to && b.value === to) { b.checked = true; }
    });
    return explain();
  }

  // One item per slot (accessories aside): picking a second top replaces the first.
  picker.addEventListener("change", function (event) {
    var box = event.target;
    if (box.name === "items" && box.checked) {
      var slot = box.getAttribute("data-slot");
      if (slot !== "accessory") {
        boxes().forEach(function (b) { if (b !== box && b.getAttribute("data-slot") === slot) { b.checked = false; } });
      }
    }
    explain();
  });
  picker.addEventListener("submit", function (event) { event.preventDefault(); explain(); });
  document.getElementById("clear").addEventListener("click", function (event) {
    event.preventDefault();
    boxes().forEach(function (b) { b.checked = false; });
    current = null;
    explain();
  });
  document.getElementById("fix").addEventListener("click", function (event) {
    var a = event.target.closest("#apply-swap");
    if (!a) { return; }
    event.preventDefault();
    applySwap(a.getAttribute("data-from"), a.getAttribute("data-to"));
  });
  document.getElementById("wear-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var note = document.getElementById("wear-note");
    var button = document.getElementById("wear-button");
    var ids = document.getElementById("wear-items").value.split(",").filter(Boolean);
    button.disabled = true;
    ui.postJSON(root.getAttribute("data-wear-api"), {items: ids}).then(function (answer) {
      if (answer.ok) {
        note.textContent = "Logged as worn today.";
      } else {
        var err = ui.errorOf(answer);
        note.textContent = err.message + (err.hint ? " (" + err.hint + ")" : "");
      }
    }).catch(function () {
      note.textContent = "The server could not be reached.";
    }).then(function () { button.disabled = false; });
  });
  toggle.addEventListener("change", updatePhotos);
  pixelSelect.addEventListener("change", updatePhotos);

  // The server explained the first load; keep its answer's items for the heat-map addresses.
  var first = document.querySelectorAll("#outfit-photos img");
  if (first.length) {
    current = {items: Array.prototype.map.call(first, function (img) { return {id: img.getAttribute("data-item")}; })};
  }
})();
