// sutra-console: a small web front end for the Sutra services, with its own /health.
// Node's own http module and one runtime dependency, escape-html, from the npm registry.
"use strict";

const fs = require("fs");
const http = require("http");
const path = require("path");
const escapeHtml = require("escape-html");

const port = Number(process.env.PORT || 3000);
const services = (process.env.SUTRA_SERVICES || "sutra-api,sutra-storage").split(",");
// Built by `npm run build` in the image's build stage.
const script = fs.readFileSync(path.join(__dirname, "..", "dist", "app.min.js"));

function page(title) {
  const rows = services.map((name) => `<li>${escapeHtml(name)}</li>`).join("");
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>` +
    `<script src="/app.min.js"></script></head><body><h1>${escapeHtml(title)}</h1>` +
    `<p id="status">console: loading</p><ul>${rows}</ul></body></html>`;
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, "http://localhost");
  if (url.pathname === "/health") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ status: "ok", service: "sutra-console" }));
  } else if (url.pathname === "/app.min.js") {
    res.writeHead(200, { "content-type": "text/javascript" });
    res.end(script);
  } else if (url.pathname === "/") {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(page(url.searchParams.get("title") || "Sutra console"));
  } else {
    res.writeHead(404, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: "not found" }));
  }
});

// No host: every address, IPv6 and IPv4 alike (dual-stack where the kernel has IPv6).
server.listen(port, () => console.log(`sutra-console listening on ${port}`));
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
