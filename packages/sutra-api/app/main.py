"""sutra-api: public gateway with argon2/JWT auth and a key-value proxy to sutra-storage."""
import os
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from fastapi import FastAPI, HTTPException, Request, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

SERVICE = "sutra-api"
STORAGE_URL = os.environ.get("STORAGE_URL", "http://sutra-storage:50051").rstrip("/")
JWT_SECRET = os.environ.get("SUTRA_JWT_SECRET") or secrets.token_urlsafe(32)
TOKEN_TTL = int(os.environ.get("SUTRA_TOKEN_TTL", "3600"))
DEMO_USER = os.environ.get("SUTRA_DEMO_USER", "demo")

_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # direct, no proxy
_hasher = PasswordHasher()
# No built-in password: without SUTRA_DEMO_PASSWORD the demo user cannot log in at all.
_demo_hash = _hasher.hash(os.environ.get("SUTRA_DEMO_PASSWORD") or secrets.token_urlsafe(32))

app = FastAPI(title=SERVICE)


class Credentials(BaseModel):
    username: str
    password: str


@app.get("/health")
def health():
    return {"status": "ok", "service": SERVICE}


@app.post("/auth/token")
def token(creds: Credentials):
    try:  # always verify the password so timing does not reveal valid usernames
        password_ok = _hasher.verify(_demo_hash, creds.password)
    except VerificationError:
        password_ok = False
    if not (password_ok and secrets.compare_digest(creds.username.encode(), DEMO_USER.encode())):
        raise HTTPException(status_code=401, detail="invalid credentials")
    now = int(time.time())
    claims = {"sub": creds.username, "iat": now, "exp": now + TOKEN_TTL}
    return {"access_token": jwt.encode(claims, JWT_SECRET, algorithm="HS256"), "token_type": "bearer"}


def _storage(method: str, key: str, body: bytes | None = None) -> tuple[int, bytes]:
    url = f"{STORAGE_URL}/kv/{urllib.parse.quote(key, safe='')}"
    req = urllib.request.Request(url, data=body, method=method)
    try:
        with _opener.open(req, timeout=5) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except OSError as exc:  # URLError, connection refused, timeout
        raise HTTPException(status_code=502, detail=f"storage unreachable: {exc}")


@app.put("/kv/{key:path}")
async def put_kv(key: str, request: Request):
    status, _ = await run_in_threadpool(_storage, "PUT", key, await request.body())
    if status >= 300:
        raise HTTPException(status_code=502, detail=f"storage answered {status}")
    return {"key": key, "stored": True}


@app.get("/kv/{key:path}")
async def get_kv(key: str):
    status, value = await run_in_threadpool(_storage, "GET", key)
    if status == 404:
        raise HTTPException(status_code=404, detail="not found")
    if status >= 300:
        raise HTTPException(status_code=502, detail=f"storage answered {status}")
    return Response(content=value, media_type="application/octet-stream")
