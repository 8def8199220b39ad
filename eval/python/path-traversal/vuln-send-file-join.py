import os
from flask import request, send_file

REPORTS = "/srv/reports"


def report():
    return send_file(os.path.join(REPORTS, request.args["name"]))
