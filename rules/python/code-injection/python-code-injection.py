import ast

from flask import Flask, request

app = Flask(__name__)


@app.route("/calc")
def calc():
    expr = request.args.get("expr", "")
    # ruleid: python-code-injection
    result = eval(expr)
    # ok: python-code-injection
    safe = ast.literal_eval(expr)
    # ok: python-code-injection
    fixed = eval("1 + 2")
    return str((result, safe, fixed))


@app.route("/hook", methods=["POST"])
def hook():
    body = request.get_json()
    # ruleid: python-code-injection
    exec(body["script"], {})
    return "done"


def django_view(request):
    # ruleid: python-code-injection
    return eval(request.POST.get("formula"))
