"""sutra-hybrid: hybrid search = cosine similarity of hashed vectors + keyword overlap."""
import hashlib
import os
import re

import numpy as np
from fastapi import FastAPI
from pydantic import BaseModel, Field

SERVICE = "sutra-hybrid"
EMBED_DIM = int(os.environ.get("EMBED_DIM", "256"))
KEYWORD_WEIGHT = float(os.environ.get("HYBRID_KEYWORD_WEIGHT", "0.3"))
_TOKEN = re.compile(r"\w+")

app = FastAPI(title=SERVICE)


class SearchRequest(BaseModel):
    query: str
    documents: list[str] = Field(max_length=10000)
    top_k: int = Field(default=10, ge=1)


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def embed(words: list[str], dim: int = EMBED_DIM) -> np.ndarray:
    """Signed feature hashing of word tokens, L2-normalised (same scheme as sutra-embedding-service)."""
    vec = np.zeros(dim, dtype=np.float32)
    for token in words:
        value = int.from_bytes(hashlib.blake2b(token.encode(), digest_size=8).digest(), "little")
        vec[value % dim] += 1.0 if (value >> 63) & 1 else -1.0
    norm = np.linalg.norm(vec)
    return vec / norm if norm > 0 else vec


@app.get("/health")
def health():
    return {"status": "ok", "service": SERVICE}


@app.post("/search")
def search(req: SearchRequest):
    if not req.documents:
        return {"results": []}
    q_words = tokens(req.query)
    q_set = set(q_words)
    doc_words = [tokens(d) for d in req.documents]
    matrix = np.stack([embed(w) for w in doc_words])
    cosine = matrix @ embed(q_words)
    overlap = np.array([len(q_set & set(w)) / len(q_set) if q_set else 0.0 for w in doc_words])
    scores = (1 - KEYWORD_WEIGHT) * cosine + KEYWORD_WEIGHT * overlap
    order = np.argsort(-scores, kind="stable")[: req.top_k]
    return {
        "results": [
            {"index": int(i), "document": req.documents[i], "score": round(float(scores[i]), 6),
             "cosine": round(float(cosine[i]), 6), "keyword_overlap": round(float(overlap[i]), 6)}
            for i in order
        ]
    }
