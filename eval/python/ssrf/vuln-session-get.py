import requests
from flask import request

session = requests.Session()


def preview():
    return session.get(request.args["u"], timeout=3).text
