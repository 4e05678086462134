"""sutra-embedding-service: deterministic hashed bag-of-words embeddings."""
import hashlib
import os
import re

import numpy as np
from fastapi import FastAPI
from pydantic import BaseModel, Field

SERVICE = "sutra-embedding-service"
EMBED_DIM = int(os.environ.get("EMBED_DIM", "256"))
_TOKEN = re.compile(r"\w+")

app = FastAPI(title=SERVICE)


class EmbedRequest(BaseModel):
    texts: list[str] = Field(max_length=1024)


def embed(text: str, dim: int = EMBED_DIM) -> np.ndarray:
    """Signed feature hashing of lower-cased word tokens, L2-normalised."""
    vec = np.zeros(dim, dtype=np.float32)
    for token in _TOKEN.findall(text.lower()):
        digest = hashlib.blake2b(token.encode(), digest_size=8).digest()
        value = int.from_bytes(digest, "little")
        vec[value % dim] += 1.0 if (value >> 63) & 1 else -1.0
    norm = np.linalg.norm(vec)
    return vec / norm if norm > 0 else vec


@app.get("/health")
def health():
    return {"status": "ok", "service": SERVICE}


@app.post("/embed")
def embed_texts(req: EmbedRequest):
    vectors = [embed(t).round(6).tolist() for t in req.texts]
    return {"dim": EMBED_DIM, "vectors": vectors}
