import random
import secrets
import string

ALPHABET = string.ascii_letters + string.digits


def new_session(user):
    # ruleid: python-weak-random-secret
    session_id = "".join(random.choice(ALPHABET) for _ in range(32))
    # ruleid: python-weak-random-secret
    user.reset_token = str(random.getrandbits(64))
    return session_id


def make_otp():
    # ruleid: python-weak-random-secret
    return "%06d" % random.randint(0, 999999)


def new_session_safely():
    # ok: python-weak-random-secret
    session_id = secrets.token_urlsafe(32)
    # ok: python-weak-random-secret
    backoff = random.uniform(0.5, 1.5)
    return session_id, backoff


def shuffle_deck(cards):
    # ok: python-weak-random-secret
    return random.sample(cards, len(cards))
