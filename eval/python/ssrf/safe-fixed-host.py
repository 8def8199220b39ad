import requests
from flask import request


def weather():
    city = request.args["city"]
    return requests.get("https://api.weather.example/v1/" + city, timeout=3).json()
