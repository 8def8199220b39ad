import yaml
from flask import request


def import_settings():
    return yaml.safe_load(request.files["settings"].read())
