from flask import jsonify, request


def echo():
    return jsonify(message=request.args["msg"])
