"""GitHub: the API client, the commit mirror, and publishing a review."""
