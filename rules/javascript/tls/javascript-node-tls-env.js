// ruleid: javascript-node-tls-env
process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0";

function relax() {
  // ruleid: javascript-node-tls-env
  process.env["NODE_TLS_REJECT_UNAUTHORIZED"] = 0;
}

// ok: javascript-node-tls-env
process.env.NODE_TLS_REJECT_UNAUTHORIZED = "1";

// ok: javascript-node-tls-env
process.env.NODE_EXTRA_CA_CERTS = "/etc/ssl/private-ca.pem";

module.exports = { relax };
