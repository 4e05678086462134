"""Entry point: `python -m app` serves the FastAPI app on 0.0.0.0:$PORT."""
import os

import uvicorn

from .main import app

if __name__ == "__main__":
    uvicorn.run(app, host="0.0.0.0", port=int(os.environ.get("PORT", "8888")))
