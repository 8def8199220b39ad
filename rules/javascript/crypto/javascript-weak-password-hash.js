const crypto = require("crypto");

function storePassword(user, password) {
  // ruleid: javascript-weak-password-hash
  user.hash = crypto.createHash("md5").update(password).digest("hex");
}

function tokenDigest(token) {
  const hash = crypto.createHash("sha1");
  // ruleid: javascript-weak-password-hash
  hash.update(token, "utf8");
  return hash.digest("hex");
}

function etag(body) {
  // ok: javascript-weak-password-hash
  return crypto.createHash("md5").update(body).digest("hex");
}

function strongDigest(token) {
  // ok: javascript-weak-password-hash
  return crypto.createHash("sha256").update(token).digest("hex");
}

module.exports = { storePassword, tokenDigest, etag, strongDigest };
