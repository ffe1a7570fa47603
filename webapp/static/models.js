// The models page follows a running job: every second it asks GET /api/v1/jobs/<id> and moves
// the progress bar and the stage line; when the job ends it reloads the page, which then shows
// the new model, evaluation or diagnostics (and the job's outcome). Without JavaScript the
// page shows the job as it stood, with a link to look again.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var box = document.getElementById("job");
  if (!box || box.getAttribute("data-state") !== "running" || !window.fetch) { return; }
  var bar = document.getElementById("job-progress");
  var percent = document.getElementById("job-percent");
  var stage = document.getElementById("job-stage");
  var api = box.getAttribute("data-api");
  var failures = 0;

  function poll() {
    fetch(api, {headers: {"Accept": "application/json"}, credentials: "same-origin"})
      .then(function (r) {
        if (!r.ok) { throw new Error("HTTP " + r.status); }
        return r.json();
      })
      .then(function (job) {
        failures = 0;
        if (job.state !== "running") { window.location.reload(); return; }
        bar.value = job.fraction;
        bar.textContent = Math.round(job.fraction * 100) + " %";
        percent.textContent = Math.round(job.fraction * 100) + " %";
        stage.textContent = job.stage || "working";
        window.setTimeout(poll, 1000);
      })
      .catch(function () {
        failures += 1;
        stage.textContent = "The server does not answer; trying again…";
        window.setTimeout(poll, Math.min(10000, 1000 * failures));
      });
  }
  window.setTimeout(poll, 1000);
}());
