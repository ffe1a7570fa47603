// A filter box for the API documentation page (the page itself is complete without it).
(function () {
  "use strict";
  var box = document.getElementById("docs-filter");
  if (!box) { return; }
  box.parentNode.hidden = false;
  var sections = document.querySelectorAll("section[data-text]");
  box.addEventListener("input", function () {
    var words = box.value.toLowerCase().split(/\s+/).filter(Boolean);
    Array.prototype.forEach.call(sections, function (s) {
      var text = s.getAttribute("data-text").toLowerCase();
      s.hidden = !words.every(function (w) { return text.indexOf(w) !== -1; });
    });
  });
})();
