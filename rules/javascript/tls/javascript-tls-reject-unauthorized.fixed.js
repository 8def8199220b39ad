const https = require("https");
const fs = require("fs");

// ruleid: javascript-tls-reject-unauthorized
const insecure = new https.Agent({ keepAlive: true, rejectUnauthorized: true });

const options = {};
// ruleid: javascript-tls-reject-unauthorized
options.rejectUnauthorized = true;

// ok: javascript-tls-reject-unauthorized
const pinned = new https.Agent({ ca: fs.readFileSync("ca.pem"), rejectUnauthorized: true });

// ok: javascript-tls-reject-unauthorized
const plain = new https.Agent({ keepAlive: false });

module.exports = { insecure, options, pinned, plain };
