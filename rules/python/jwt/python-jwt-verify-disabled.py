import jwt

KEY = open("/run/secrets/jwt-key").read()


def current_user(token):
    # ruleid: python-jwt-verify-disabled
    claims = jwt.decode(token, options={"verify_signature": False})
    return claims["sub"]


def legacy_user(token):
    # ruleid: python-jwt-verify-disabled
    return jwt.decode(token, KEY, algorithms=["HS256", "none"])["sub"]


def lenient(token):
    options = {"verify_signature": False, "verify_exp": False}
    # ruleid: python-jwt-verify-disabled
    return jwt.decode(token, KEY, algorithms=["HS256"], options=options)


def verified_user(token):
    # ok: python-jwt-verify-disabled
    claims = jwt.decode(token, KEY, algorithms=["HS256"], options={"require": ["exp"]})
    return claims["sub"]


def header(token):
    # ok: python-jwt-verify-disabled
    return jwt.get_unverified_header(token)["kid"]
