import hashlib


def check_password(user, password):
    return user.pw_hash == hashlib.md5(password.encode()).hexdigest()
