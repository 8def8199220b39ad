from pathlib import Path

from flask import abort, request

BASE = Path("/srv/docs").resolve()


def doc():
    target = (BASE / request.args["name"]).resolve()
    if not target.is_relative_to(BASE):
        abort(404)
    return target.read_text()
