from flask import request, send_from_directory


def report():
    return send_from_directory("/srv/reports", request.args["name"])
