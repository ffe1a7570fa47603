// Bulk upload with a status line per file: each photo goes to the JSON API on its own, so one
// refused file never holds back the others. Without JavaScript the form posts every file to
// the page route instead (same result, flashed lines).
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form || !window.fetch || !window.FormData) { return; }
  var list = document.getElementById("upload-status");
  var done = document.getElementById("upload-done");
  var input = document.getElementById("photos");
  var token = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var api = form.getAttribute("data-api");
  var maxBytes = parseInt(form.getAttribute("data-max-bytes"), 10);

  function line(name) {
    var li = document.createElement("li");
    var label = document.createElement("span");
    label.className = "file";
    label.textContent = name;
    var state = document.createElement("span");
    state.className = "state";
    li.appendChild(label);
    li.appendChild(document.createTextNode(": "));
    li.appendChild(state);
    list.appendChild(li);
    return {
      set: function (kind, text, href) {
        li.className = "status-" + kind;
        state.textContent = "";
        if (href) {
          var a = document.createElement("a");
          a.href = href;
          a.textContent = text;
          state.appendChild(a);
        } else {
          state.textContent = text;
        }
      }
    };
  }

  function describe(item) {
    var words = [item.color, item.category].filter(Boolean).join(" ");
    if (!words) { return "added, not tagged"; }
    var conf = item.category_confidence;
    return "tagged as \u201c" + words + "\u201d" +
      (conf === null || conf === undefined ? "" : " (" + Math.round(conf * 100) + " %)");
  }

  function send(file) {
    var status = line(file.name);
    if (file.size > maxBytes) {
      status.set("error", "refused: the file is larger than the upload limit");
      return Promise.resolve();
    }
    status.set("busy", "uploading\u2026");
    var body = new FormData();
    body.append("photos", file, file.name);
    return fetch(api, {
      method: "POST", body: body, credentials: "same-origin",
      headers: {"X-CSRFToken": token, "Accept": "application/json"}
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        var result = data.results && data.results[0];
        if (result && result.ok) {
          var note = result.tagging === "tagged" ? describe(result.item)
            : "added (" + (result.tagging || "not tagged") + ")";
          status.set("ok", note, "/items/" + encodeURIComponent(result.item.id));
        } else {
          var error = (result && result.error) || data.error;
          status.set("error", "refused: " + (error ? error.message : "the server answered " + response.status));
        }
      });
    }).catch(function () {
      status.set("error", "failed: the server could not be reached");
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var files = Array.prototype.slice.call(input.files);
    if (!files.length) { return; }
    var button = form.querySelector("button");
    button.disabled = true;
    // Two at a time: the server tags one photo after another anyway.
    var queue = files.slice();
    function next() {
      var file = queue.shift();
      return file ? send(file).then(next) : Promise.resolve();
    }
    Promise.all([next(), next()]).then(function () {
      button.disabled = false;
      input.value = "";
      done.hidden = false;
    });
  });
})();
