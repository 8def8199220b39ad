import subprocess
from flask import Flask, request

app = Flask(__name__)


@app.route("/dns")
def dns():
    domain = request.args["domain"]
    return subprocess.run(["dig", "+short", domain], capture_output=True).stdout
