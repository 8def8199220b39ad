const serialize = require("node-serialize");

function restore(cookie) {
  return serialize.unserialize(Buffer.from(cookie, "base64").toString());
}
module.exports = { restore };
