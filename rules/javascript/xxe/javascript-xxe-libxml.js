const libxmljs = require("libxmljs");

function parseInvoice(xml) {
  // ruleid: javascript-xxe-libxml
  return libxmljs.parseXml(xml, { noent: true, nocdata: true });
}

function parseFeed(xml) {
  // ok: javascript-xxe-libxml
  return libxmljs.parseXml(xml, { nocdata: true });
}

module.exports = { parseInvoice, parseFeed };
