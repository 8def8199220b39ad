import urllib.request

import requests
from flask import Flask, request

app = Flask(__name__)


@app.route("/preview")
def preview():
    url = request.args.get("url")
    # ruleid: python-ssrf
    page = requests.get(url, timeout=5)
    # ruleid: python-ssrf
    raw = urllib.request.urlopen(url).read()
    return page.text + raw.decode()


@app.route("/avatar")
def avatar():
    user = request.args.get("user")
    # ok: python-ssrf
    return requests.get("https://avatars.example.org/u/" + user, timeout=5).content


def webhook_test(request):
    # ruleid: python-ssrf
    return requests.post(request.POST["callback"], json={"ok": True}, timeout=5)


FEEDS = {"news": "https://feeds.example.org/news.xml"}


@app.route("/feed")
def feed():
    # ok: python-ssrf
    return requests.get(FEEDS[request.args["feed"]], timeout=5).text


def health():
    # ok: python-ssrf
    return requests.get("http://localhost:8080/health", timeout=1)
