from flask import Flask, request

app = Flask(__name__)


@app.route("/hi")
def hi():
    return f"<h1>Hello {request.args.get('n', '')}</h1>"
