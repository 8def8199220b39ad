import subprocess
from flask import Flask

app = Flask(__name__)


@app.route("/log/<branch>")
def log(branch):
    return subprocess.check_output(f"git log --oneline {branch}", shell=True)
