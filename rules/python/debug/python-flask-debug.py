import os

from flask import Flask

app = Flask(__name__)
# ruleid: python-flask-debug
app.config["DEBUG"] = True


def main():
    # ruleid: python-flask-debug
    app.run(host="0.0.0.0", port=8000, debug=True)


def main_from_env():
    # ok: python-flask-debug
    app.run(host="127.0.0.1", debug=os.environ.get("FLASK_DEBUG") == "1")


def main_quiet():
    # ok: python-flask-debug
    app.run(debug=False)
