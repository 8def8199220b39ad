from django.http import HttpResponse
from django.utils.safestring import mark_safe
from flask import Flask, make_response, render_template, request
from markupsafe import Markup, escape

app = Flask(__name__)


@app.route("/hello")
def hello():
    name = request.args.get("name", "")
    # ruleid: python-xss-response
    return make_response("<h1>Hello " + name + "</h1>")


@app.route("/hello-safe")
def hello_safe():
    name = request.args.get("name", "")
    # ok: python-xss-response
    first = make_response("<h1>Hello " + escape(name) + "</h1>")
    # ok: python-xss-response
    return render_template("hello.html", name=name) if first else ""


@app.route("/bio")
def bio():
    # ruleid: python-xss-response
    return str(Markup(request.args["bio"]))


def search(request):
    query = request.GET.get("q", "")
    # ruleid: python-xss-response
    return HttpResponse("<p>Results for %s</p>" % query)


def banner(request):
    # ruleid: python-xss-response
    label = mark_safe("<b>" + request.GET["label"] + "</b>")
    # ok: python-xss-response
    return HttpResponse("<p>static</p>") if label else None
