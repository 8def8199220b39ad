import hashlib


def etag(payload: bytes) -> str:
    return hashlib.md5(payload).hexdigest()
