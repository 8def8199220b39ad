from flask import make_response


def login():
    resp = make_response("ok")
    resp.set_cookie("session", "token-value", secure=True, httponly=True, samesite="Lax")
    return resp
