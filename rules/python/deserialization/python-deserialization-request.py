import base64
import json
import pickle

import yaml
from flask import Flask, request

app = Flask(__name__)


@app.route("/session", methods=["POST"])
def restore():
    blob = base64.b64decode(request.cookies.get("state"))
    # ruleid: python-deserialization-request
    state = pickle.loads(blob)
    # ok: python-deserialization-request
    data = json.loads(request.data)
    return str((state, data))


@app.route("/import", methods=["POST"])
def import_config():
    # ruleid: python-deserialization-request
    config = yaml.load(request.data)
    # ok: python-deserialization-request
    safe = yaml.safe_load(request.data)
    # ok: python-deserialization-request
    also_safe = yaml.load(request.data, Loader=yaml.SafeLoader)
    return str((config, safe, also_safe))


def django_upload(request):
    # ruleid: python-deserialization-request
    return pickle.load(request.FILES["model"])


def load_cache(path):
    with open(path, "rb") as handle:
        # ok: python-deserialization-request
        return pickle.load(handle)
