from django.http import HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme
from flask import Flask, redirect, request, url_for

app = Flask(__name__)


@app.route("/login", methods=["POST"])
def login():
    target = request.args.get("next", "/")
    # ruleid: python-open-redirect
    return redirect(target)


@app.route("/logout")
def logout():
    # ok: python-open-redirect
    return redirect(url_for("index", msg=request.args.get("msg")))


def django_login(request):
    # ruleid: python-open-redirect
    return HttpResponseRedirect(request.GET["next"])


def django_login_checked(request):
    target = request.GET.get("next", "/")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        # ok: python-open-redirect
        return HttpResponseRedirect(target)
    return HttpResponseRedirect("/")
