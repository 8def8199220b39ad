import httpx
import requests


def fetch(url):
    # ruleid: python-requests-verify-disabled
    return requests.get(url, timeout=5, verify=False)


def post(url, body):
    session = requests.Session()
    # ruleid: python-requests-verify-disabled
    session.verify = False
    # ruleid: python-requests-verify-disabled
    return session.post(url, json=body, verify=False)


def client(url):
    # ruleid: python-requests-verify-disabled
    return httpx.get(url, verify=False)


def trusted(url):
    # ok: python-requests-verify-disabled
    return requests.get(url, timeout=5, verify="/etc/ssl/private-ca.pem")


def quiet(url):
    # ok: python-requests-verify-disabled
    return requests.get(url, timeout=5, stream=False)
