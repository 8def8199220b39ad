import ast
from flask import request


def parse_list():
    return ast.literal_eval(request.args["items"])
