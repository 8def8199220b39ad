import xml.sax
import xml.sax.handler

from defusedxml import ElementTree
from lxml import etree


def parse_invoice(data):
    # ruleid: python-xxe-parser
    parser = etree.XMLParser(resolve_entities=True)
    return etree.fromstring(data, parser)


def parse_feed(stream, handler):
    parser = xml.sax.make_parser()
    # ruleid: python-xxe-parser
    parser.setFeature(xml.sax.handler.feature_external_ges, True)
    parser.setContentHandler(handler)
    parser.parse(stream)


def parse_safely(data):
    # ok: python-xxe-parser
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    # ok: python-xxe-parser
    return etree.fromstring(data, parser), ElementTree.fromstring(data)
