from lxml import etree


def parse(body):
    parser = etree.XMLParser(resolve_entities=True, load_dtd=True)
    return etree.fromstring(body, parser)
