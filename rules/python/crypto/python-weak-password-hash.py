import hashlib


def store(user, password):
    # ruleid: python-weak-password-hash
    user.password_hash = hashlib.md5(password.encode()).hexdigest()


def api_key_digest(api_key):
    digest = hashlib.sha1()
    # ruleid: python-weak-password-hash
    digest.update(api_key.encode())
    return digest.hexdigest()


def reset_token_hash(token):
    # ruleid: python-weak-password-hash
    return hashlib.new("md5", token.encode()).hexdigest()


def remember(user):
    # ruleid: python-weak-password-hash
    return hashlib.sha1(user.password.encode()).hexdigest()


def etag(content):
    # ok: python-weak-password-hash
    return hashlib.md5(content).hexdigest()


def cache_key(password_field_name):
    # ok: python-weak-password-hash
    return hashlib.md5(password_field_name.encode(), usedforsecurity=False).hexdigest()


def token_digest(token):
    # ok: python-weak-password-hash
    return hashlib.sha256(token.encode()).hexdigest()
