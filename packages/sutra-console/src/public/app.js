// The console's browser code: shipped minified (dist/app.min.js) by the build stage's
// `npm run build`, with uglify-js, a dev dependency that never reaches the runtime image.
(function () {
  "use strict";
  function refresh() {
    var status = document.getElementById("status");
    fetch("/health")
      .then(function (response) { return response.json(); })
      .then(function (body) { status.textContent = "console: " + body.status; })
      .catch(function () { status.textContent = "console: unreachable"; });
  }
  document.addEventListener("DOMContentLoaded", refresh);
})();
