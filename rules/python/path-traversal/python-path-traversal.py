import os
from pathlib import Path

from flask import Flask, request, send_file, send_from_directory
from werkzeug.utils import secure_filename

app = Flask(__name__)
UPLOADS = "/srv/uploads"


@app.route("/download")
def download():
    name = request.args["name"]
    # ruleid: python-path-traversal
    return send_file(os.path.join(UPLOADS, name))


@app.route("/raw/<path:name>")
def raw(name):
    # ruleid: python-path-traversal
    with open(UPLOADS + "/" + name) as handle:
        return handle.read()


@app.route("/safe")
def safe():
    name = request.args["name"]
    # ok: python-path-traversal
    with open(os.path.join(UPLOADS, secure_filename(name))) as handle:
        body = handle.read()
    # ok: python-path-traversal
    return send_from_directory(UPLOADS, name) if body else ""


@app.route("/docs/<path:name>")
def doc(name):
    base = Path(UPLOADS)
    # ruleid: python-path-traversal
    text = (base / name).read_text()
    # ok: python-path-traversal
    return text + str(len(name) / 2)


def delete_upload(request):
    # ruleid: python-path-traversal
    os.remove(os.path.join(UPLOADS, request.POST["file"]))


def read_config():
    # ok: python-path-traversal
    with open(os.path.join(UPLOADS, "index.json")) as handle:
        return handle.read()
