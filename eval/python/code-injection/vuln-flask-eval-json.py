from flask import Flask, request

app = Flask(__name__)


@app.route("/score", methods=["POST"])
def score():
    rule = request.get_json()["rule"]
    return str(eval(rule, {"__builtins__": {}}))
