// What the page scripts share (builder.js, recommend.js), as window.OutfitUI: building
// elements, a score as a percentage, an item's thumbnail address, the page's CSRF token, and
// JSON POSTs to the API that carry it.
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf-token"]');
  var token = meta ? meta.getAttribute("content") : "";

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = text; }
    return e;
  }
  // 0.47 -> "47 %"; near 0 or 1 with a decimal, so 99.6 % never reads "100 %".
  function pct(v) {
    var text = (v * 100).toFixed(0);
    if (text === "0" || text === "100") { text = (v * 100).toFixed(1); }
    return text + " %";
  }
  function thumb(id) { return "/api/v1/items/" + encodeURIComponent(id) + "/thumb"; }
  function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } }
  // POST `payload` as JSON with the CSRF header. Resolves to {ok, status, data} (data is {}
  // when the answer is not JSON); rejects when the server cannot be reached.
  function postJSON(url, payload) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": token},
      body: JSON.stringify(payload)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        return {ok: response.ok, status: response.status, data: data};
      });
    });
  }
  // The API's error envelope of a failed answer, or a sentence with its status and `hint`.
  function errorOf(answer, hint) {
    return answer.data.error || {message: "The server answered " + answer.status + ".", hint: hint || ""};
  }

  window.OutfitUI = {el: el, pct: pct, thumb: thumb, clear: clear, token: token,
                     postJSON: postJSON, errorOf: errorOf};
}());
