"""sutra-control: service registry and aggregated health status."""
import os
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from fastapi import FastAPI

SERVICE = "sutra-control"
PROBE_TIMEOUT = float(os.environ.get("SUTRA_PROBE_TIMEOUT", "1.5"))

_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # direct, no proxy

app = FastAPI(title=SERVICE)


def known_services() -> list[dict]:
    """Parse SUTRA_SERVICES="name=url,name2=url2"."""
    services = []
    for item in os.environ.get("SUTRA_SERVICES", "").split(","):
        name, sep, url = item.strip().partition("=")
        if sep and name.strip() and url.strip():
            services.append({"name": name.strip(), "url": url.strip().rstrip("/")})
    return services


def probe(service: dict) -> dict:
    try:
        with _opener.open(service["url"] + "/health", timeout=PROBE_TIMEOUT) as resp:
            healthy, detail = 200 <= resp.status < 300, f"HTTP {resp.status}"
    except Exception as exc:  # HTTPError, URLError, timeout, bad URL
        healthy, detail = False, str(exc)
    return {**service, "healthy": healthy, "detail": detail}


@app.get("/health")
def health():
    return {"status": "ok", "service": SERVICE}


@app.get("/services")
def services():
    return {"services": known_services()}


@app.get("/status")
def status():
    services = known_services()
    if not services:
        return {"healthy": True, "services": []}
    with ThreadPoolExecutor(max_workers=min(16, len(services))) as pool:
        results = list(pool.map(probe, services))
    return {"healthy": all(r["healthy"] for r in results), "services": results}
