import requests
from flask import request

FEEDS = {"news": "https://feeds.example.org/news.xml"}


def feed():
    return requests.get(FEEDS[request.args["feed"]], timeout=3).text
