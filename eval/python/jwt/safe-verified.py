import jwt


def user_id(token, key):
    return jwt.decode(token, key, algorithms=["HS256"])["sub"]
