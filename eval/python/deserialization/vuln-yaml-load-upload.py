import yaml
from flask import request


def import_settings():
    return yaml.load(request.files["settings"].read(), Loader=yaml.Loader)
