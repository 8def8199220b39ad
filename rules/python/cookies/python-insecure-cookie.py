from flask import Flask, make_response

app = Flask(__name__)
# ruleid: python-insecure-cookie
app.config["SESSION_COOKIE_SECURE"] = False

# ruleid: python-insecure-cookie
SESSION_COOKIE_HTTPONLY = False
# ok: python-insecure-cookie
CSRF_COOKIE_SECURE = True
# ok: python-insecure-cookie
USE_TZ = False


@app.route("/login")
def login():
    response = make_response("ok")
    # ruleid: python-insecure-cookie
    response.set_cookie("session", "abc", secure=False, httponly=True)
    # ok: python-insecure-cookie
    response.set_cookie("theme", "dark", secure=True, httponly=True, samesite="Lax")
    return response
