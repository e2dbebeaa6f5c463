"""The platform's one web service: a FastAPI app with one router per area (``govlake.web.app:app``)."""
