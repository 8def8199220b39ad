"""The GitHub App server: receive deliveries, queue reviews, run them in workers."""
