const { Client } = require("pg");

// ruleid: javascript-hardcoded-credential
const DB_PASSWORD = "s3cr3t-Passw0rd";
// ok: javascript-hardcoded-credential
const PASSWORD_ENV = "DB_PASSWORD";
// ok: javascript-hardcoded-credential
const TOKEN_HEADER = "X-Auth-Token";
// ok: javascript-hardcoded-credential
const apiKey = process.env.API_KEY;
// ok: javascript-hardcoded-credential
let password = "";

const client = new Client({
  host: "db",
  // ruleid: javascript-hardcoded-credential
  password: "hunter2hunter2",
  // ok: javascript-hardcoded-credential
  user: "app",
});

const config = {};
// ruleid: javascript-hardcoded-credential
config.clientSecret = "0a1b2c3d4e5f6a7b8c9d";
// ok: javascript-hardcoded-credential
config.secretName = "prod/app/client";

module.exports = { DB_PASSWORD, PASSWORD_ENV, TOKEN_HEADER, apiKey, password, client, config };
