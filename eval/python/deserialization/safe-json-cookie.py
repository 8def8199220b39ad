import base64
import json
from flask import request


def load_cart():
    return json.loads(base64.b64decode(request.cookies.get("cart", "e30=")))
