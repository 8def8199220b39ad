from pathlib import Path
from flask import Flask

app = Flask(__name__)
BASE = Path("/srv/docs")


@app.route("/docs/<path:name>")
def doc(name):
    return (BASE / name).read_text()
