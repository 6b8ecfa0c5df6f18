"""Business operations; they take a session and plain data, and hold no FastAPI imports."""
