import ssl
import urllib.request


def call(url):
    return urllib.request.urlopen(url, context=ssl.create_default_context())
