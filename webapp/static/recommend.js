// Recommendations without reloads: changing the form, re-rolling or pinning an item from a
// card asks POST /api/v1/recommend and redraws the outfit cards; the address keeps the choices
// (?pinned=...&excluded=...&season=...&occasion=...&k=...&reroll=...) so a reload or a shared
// link shows the same set. Without JavaScript the form is a GET form computed on the server.
// Each card's "Wore this today" and thumbs up/down forms are sent to the API (POST
// /api/v1/wears, /api/v1/feedback) with the CSRF header; without JavaScript they are POST forms.
(function () {
  "use strict";
  var root = document.getElementById("recommend");
  if (!root || !window.fetch) { return; }
  document.documentElement.classList.add("js");
  var form = document.getElementById("rec-form");
  var statusLine = document.getElementById("rec-status");
  var errorBox = document.getElementById("rec-error");
  var cards = document.getElementById("cards");
  var panel = document.getElementById("results");
  var rerollButton = document.getElementById("reroll");
  var rerollLink = document.getElementById("reroll-link");
  var ui = window.OutfitUI;
  var el = ui.el, pct = ui.pct, thumb = ui.thumb, token = ui.token;
  var api = root.getAttribute("data-api");
  var page = root.getAttribute("data-page");
  var MAIN = {outer: 1, upper: 1, lower: 1, full: 1, shoes: 1};
  var reroll = parseInt(root.getAttribute("data-reroll"), 10) || 0;
  var request = 0;  // answers to older requests are dropped
  var wearApi = root.getAttribute("data-wear-api");
  var feedbackApi = root.getAttribute("data-feedback-api");
  var wearPage = root.getAttribute("data-wear-page");
  var feedbackPage = root.getAttribute("data-feedback-page");
  var judged = {};  // sorted item ids joined by "," -> true (up) / false (down)

  function boxes(name) { return Array.prototype.slice.call(form.querySelectorAll('input[name="' + name + '"]')); }
  function checked(name) { return boxes(name).filter(function (b) { return b.checked; }).map(function (b) { return b.value; }); }
  function box(name, id) {
    return boxes(name).filter(function (b) { return b.value === id; })[0] || null;
  }
  function value(id) { return document.getElementById(id).value || null; }
  function k() {
    var n = parseInt(document.getElementById("k").value, 10);
    return isNaN(n) ? 6 : Math.max(1, Math.min(50, n));
  }

  function body() {
    return {k: k(), pinned: checked("pinned"), excluded: checked("excluded"),
            season: value("season"), occasion: value("occasion"), reroll: reroll};
  }

  function query(b, n) {
    var q = new URLSearchParams();
    if (b.pinned.length) { q.set("pinned", b.pinned.join(",")); }
    if (b.excluded.length) { q.set("excluded", b.excluded.join(",")); }
    if (b.season) { q.set("season", b.season); }
    if (b.occasion) { q.set("occasion", b.occasion); }
    q.set("k", String(b.k));
    if (n) { q.set("reroll", String(n)); }
    return page + "?" + q.toString();
  }

  function markChoices(b) {
    Array.prototype.forEach.call(form.querySelectorAll(".choice"), function (li) {
      var id = li.getAttribute("data-item");
      li.classList.toggle("is-pinned", b.pinned.indexOf(id) >= 0);
      li.classList.toggle("is-excluded", b.excluded.indexOf(id) >= 0);
    });
  }

  function card(rec, pinned) {
    var li = el("li", "outfit-card");
    var head = el("div", "card-head");
    var score = el("span", "card-score", pct(rec.score));
    score.title = "chance the outfit works (model logit " + (rec.logit >= 0 ? "+" : "") + rec.logit.toFixed(2) + ")";
    head.appendChild(score);
    var open = el("a", "button secondary", "Open in builder");
    open.href = rec.builder_url;
    head.appendChild(open);
    li.appendChild(head);
    li.appendChild(el("p", "card-reason", rec.reason));
    var list = el("ul", "card-items");
    rec.items.forEach(function (it) {
      var row = el("li");
      var img = el("img");
      img.src = thumb(it.id);
      img.alt = it.label;
      row.appendChild(img);
      row.appendChild(el("span", "card-label", it.label));
      if (pinned.indexOf(it.id) >= 0) {
        row.appendChild(el("span", "badge", "pinned"));
      } else {
        var pin = el("a", "pin-link", "pin");
        pin.href = "#";
        pin.setAttribute("data-pin", it.id);
        row.appendChild(pin);
      }
      list.appendChild(row);
    });
    li.appendChild(list);
    li.appendChild(actions(rec.items.map(function (it) { return it.id; })));
    return li;
  }

  function hidden(name, v) {
    var input = el("input");
    input.type = "hidden";
    input.name = name;
    input.value = v;
    return input;
  }
  function postForm(action, cls, ids) {
    var f = el("form", cls);
    f.method = "post";
    f.action = action;
    f.appendChild(hidden("csrf_token", token));
    f.appendChild(hidden("items", ids.join(",")));
    f.appendChild(hidden("next", location.pathname + location.search));
    return f;
  }
  function thumbButton(up, state) {
    var b = el("button", "thumb " + (up ? "thumb-up" : "thumb-down"), up ? "Like" : "Not for me");
    b.type = "submit";
    b.name = "up";
    b.value = up ? "1" : "0";
    b.title = up ? "Thumbs up: I like this outfit" : "Thumbs down: not for me";
    b.setAttribute("aria-pressed", state === up ? "true" : "false");
    return b;
  }
  function keyOf(ids) { return ids.slice().sort().join(","); }

  function actions(ids) {
    var box = el("div", "card-actions");
    var wear = postForm(wearPage, "wear-form", ids);
    var wore = el("button", "secondary", "Wore this today");
    wore.type = "submit";
    wear.appendChild(wore);
    box.appendChild(wear);
    var fb = postForm(feedbackPage, "feedback-form", ids);
    var state = judged[keyOf(ids)];
    fb.appendChild(thumbButton(true, state));
    fb.appendChild(thumbButton(false, state));
    box.appendChild(fb);
    var note = el("span", "card-note muted");
    note.setAttribute("role", "status");
    box.appendChild(note);
    return box;
  }

  function send(url, payload) {
    return ui.postJSON(url, payload).then(function (answer) {
      if (!answer.ok) {
        var err = ui.errorOf(answer);
        throw new Error(err.message + (err.hint ? " (" + err.hint + ")" : ""));
      }
      return answer.data;
    }, function () { throw new Error("The server could not be reached."); });
  }

  function cardAction(f, submitter) {
    var ids = f.querySelector('input[name="items"]').value.split(",").filter(Boolean);
    var note = f.parentNode.querySelector(".card-note");
    var buttons = Array.prototype.slice.call(f.querySelectorAll("button"));
    buttons.forEach(function (b) { b.disabled = true; });
    var done = function () { buttons.forEach(function (b) { b.disabled = false; }); };
    if (f.classList.contains("wear-form")) {
      send(wearApi, {items: ids}).then(function () {
        note.textContent = "Logged as worn today.";
      }).catch(function (e) { note.textContent = e.message; }).then(done);
      return;
    }
    var up = submitter ? submitter.value === "1" : true;
    send(feedbackApi, {items: ids, up: up}).then(function () {
      judged[keyOf(ids)] = up;
      buttons.forEach(function (b) { b.setAttribute("aria-pressed", (b.value === "1") === up ? "true" : "false"); });
      note.textContent = up ? "Thumbs up saved." : "Thumbs down saved.";
    }).catch(function (e) { note.textContent = e.message; }).then(done);
  }

  function status(data, b) {
    var n = data.recommendations.length;
    var text = n + " outfit" + (n === 1 ? "" : "s") + (b.reroll ? " (re-roll " + b.reroll + ")" : "");
    if (data.excluded_in_wash) {
      text += "; " + data.excluded_in_wash + " item" + (data.excluded_in_wash === 1 ? "" : "s") + " in the wash left out";
    }
    return text + ".";
  }

  function recommend() {
    var b = body();
    var mine = ++request;
    history.replaceState(null, "", query(b, b.reroll));
    markChoices(b);
    errorBox.hidden = true;
    statusLine.textContent = "Finding outfits\u2026";
    panel.setAttribute("aria-busy", "true");
    return ui.postJSON(api, b).then(function (answer) {
      var data = answer.data;
      if (mine !== request) { return; }
      panel.setAttribute("aria-busy", "false");
      rerollButton.value = String(b.reroll + 1);
      rerollLink.href = query(b, b.reroll + 1);
      ui.clear(cards);
      if (!answer.ok || !data.recommendations) {
        var err = ui.errorOf(answer, "try again");
        rerollLink.hidden = true;
        statusLine.textContent = "";
        errorBox.textContent = err.message + (err.hint ? " (" + err.hint + ")" : "");
        errorBox.hidden = false;
        return;
      }
      data.recommendations.forEach(function (rec) { cards.appendChild(card(rec, b.pinned)); });
      rerollLink.hidden = false;
      statusLine.textContent = status(data, b);
    }).catch(function () {
      if (mine !== request) { return; }
      panel.setAttribute("aria-busy", "false");
      statusLine.textContent = "";
      errorBox.textContent = "The server could not be reached. (check that it is running, then try again)";
      errorBox.hidden = false;
    });
  }

  function pin(id) {
    var target = box("pinned", id);
    if (!target) { return; }
    var slot = target.getAttribute("data-slot");
    if (MAIN[slot]) {
      boxes("pinned").forEach(function (b) {
        if (b !== target && b.getAttribute("data-slot") === slot) { b.checked = false; }
      });
    }
    target.checked = true;
    var out = box("excluded", id);
    if (out) { out.checked = false; }
  }

  form.addEventListener("change", function (event) {
    var t = event.target;
    if (t.name === "pinned" || t.name === "excluded") {
      var other = box(t.name === "pinned" ? "excluded" : "pinned", t.value);
      if (t.checked && other) { other.checked = false; }  // never both
    }
    reroll = 0;
    recommend();
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    reroll = event.submitter === rerollButton ? reroll + 1 : 0;
    recommend();
  });
  rerollLink.addEventListener("click", function (event) {
    event.preventDefault();
    reroll += 1;
    recommend();
  });
  cards.addEventListener("submit", function (event) {
    var f = event.target;
    if (!f.classList.contains("wear-form") && !f.classList.contains("feedback-form")) { return; }
    event.preventDefault();
    cardAction(f, event.submitter);
  });
  fetch(root.getAttribute("data-feedback-api"), {credentials: "same-origin", headers: {"Accept": "application/json"}})
    .then(function (r) { return r.ok ? r.json() : {feedback: []}; })
    .then(function (data) {
      (data.feedback || []).forEach(function (fb) { judged[keyOf(fb.items)] = fb.up; });
    }).catch(function () { /* the server-rendered states stay */ });
  cards.addEventListener("click", function (event) {
    var link = event.target.closest("a[data-pin]");
    if (!link) { return; }
    event.preventDefault();
    pin(link.getAttribute("data-pin"));
    reroll = 0;
    recommend();
  });
}());
