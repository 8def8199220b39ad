import os
import shlex
from flask import request


def archive():
    name = request.form["name"]
    os.system("tar czf /tmp/out.tgz " + shlex.quote(name))
