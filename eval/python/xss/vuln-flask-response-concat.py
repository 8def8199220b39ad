from flask import make_response, request


def greet():
    return make_response("<p>Hi " + request.args["name"] + "</p>")
