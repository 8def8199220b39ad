import ssl
import urllib.request


def open_url(url):
    # ruleid: python-ssl-unverified-context
    context = ssl._create_unverified_context()
    return urllib.request.urlopen(url, context=context)


def open_checked(url):
    # ok: python-ssl-unverified-context
    context = ssl.create_default_context()
    return urllib.request.urlopen(url, context=context)
