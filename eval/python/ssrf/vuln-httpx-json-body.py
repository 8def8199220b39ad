import httpx
from flask import request


def notify():
    hook = request.get_json()["webhook"]
    httpx.post(hook, json={"event": "done"})
    return "ok"
