import jwt


def key_id(token):
    return jwt.get_unverified_header(token).get("kid")
