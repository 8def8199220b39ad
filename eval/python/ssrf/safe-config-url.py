import os
import requests


def health():
    return requests.get(os.environ["UPSTREAM_URL"] + "/health", timeout=1).ok
