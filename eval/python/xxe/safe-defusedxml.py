from defusedxml.ElementTree import fromstring


def parse(body):
    return fromstring(body)
