"""Local reference servers of outside platforms, with sample data, for development and tests."""
