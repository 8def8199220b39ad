const libxml = require("libxmljs");

function parse(xml) {
  return libxml.parseXmlString(xml);
}
module.exports = { parse };
