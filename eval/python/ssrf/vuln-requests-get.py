import requests
from flask import request


def fetch_preview():
    return requests.get(request.args["url"], timeout=3).text
