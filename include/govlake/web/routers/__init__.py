"""One router per area; each declares its own authentication (the open-data API will need none)."""
