from flask import Flask, render_template_string, request
from jinja2 import Template

app = Flask(__name__)
PAGE = "<h1>Hello {{ name }}</h1>"


@app.route("/greet")
def greet():
    name = request.args.get("name", "")
    # ruleid: python-template-injection
    first = render_template_string("<h1>Hello " + name + "</h1>")
    # ok: python-template-injection
    second = render_template_string(PAGE, name=name)
    return first + second


@app.route("/preview", methods=["POST"])
def preview():
    # ruleid: python-template-injection
    return Template(request.form["body"]).render()
