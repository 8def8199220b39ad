import hashlib


def store_reset(user, reset_token):
    user.reset_digest = hashlib.sha1(reset_token.encode()).hexdigest()
