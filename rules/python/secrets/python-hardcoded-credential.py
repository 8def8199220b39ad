import os

import psycopg2

# ruleid: python-hardcoded-credential
DB_PASSWORD = "s3cr3t-Passw0rd"
# ruleid: python-hardcoded-credential
STRIPE_API_KEY = "rk_live_9f8e7d6c5b4a"
# ok: python-hardcoded-credential
DB_PASSWORD_ENV = "DB_PASSWORD"
# ok: python-hardcoded-credential
TOKEN_HEADER = "X-Auth-Token"
# ok: python-hardcoded-credential
PASSWORD = os.environ["DB_PASSWORD"]
# ok: python-hardcoded-credential
password = ""
# ok: python-hardcoded-credential
api_key = "<your api key>"
# ok: python-hardcoded-credential
secret = "${APP_SECRET}"


def connect():
    # ruleid: python-hardcoded-credential
    return psycopg2.connect(host="db", user="app", password="hunter2hunter2")


def connect_with_constant():
    # ok: python-hardcoded-credential
    return psycopg2.connect(host="db", password=DB_PASSWORD)


def connect_from_env():
    # ok: python-hardcoded-credential
    return psycopg2.connect(host="db", password=os.environ["PGPASSWORD"])


class Settings:
    def __init__(self):
        # ruleid: python-hardcoded-credential
        self.client_secret = "0a1b2c3d4e5f6a7b8c9d"
        # ok: python-hardcoded-credential
        self.secret_name = "prod/app/client"


CONFIG = {
    # ruleid: python-hardcoded-credential
    "auth_token": "tok_4f3c2b1a0e9d8c7b",
    # ok: python-hardcoded-credential
    "auth_token_hint": "ask the on-call engineer",
}
