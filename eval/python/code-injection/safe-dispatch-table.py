from flask import request

OPS = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b}


def calc():
    op = OPS[request.args["op"]]
    return op(int(request.args["a"]), int(request.args["b"]))
