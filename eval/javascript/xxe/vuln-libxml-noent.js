const libxml = require("libxmljs");

function parse(xml) {
  return libxml.parseXmlString(xml, { noent: true });
}
module.exports = { parse };
