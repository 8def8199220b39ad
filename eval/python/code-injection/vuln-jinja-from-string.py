from flask import Flask, render_template_string, request

app = Flask(__name__)


@app.route("/card")
def card():
    title = request.args.get("title", "")
    return render_template_string("<h1>" + title + "</h1>")
