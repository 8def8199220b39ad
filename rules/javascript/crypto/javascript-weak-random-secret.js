const crypto = require("crypto");

function newSession(user) {
  // ruleid: javascript-weak-random-secret
  const sessionId = Math.random().toString(36).slice(2);
  // ruleid: javascript-weak-random-secret
  user.resetToken = String(Math.floor(Math.random() * 1e12));
  return sessionId;
}

function makeOtp() {
  // ruleid: javascript-weak-random-secret
  return Math.floor(100000 + Math.random() * 900000).toString();
}

function newSessionSafely() {
  // ok: javascript-weak-random-secret
  const sessionId = crypto.randomBytes(32).toString("hex");
  // ok: javascript-weak-random-secret
  const jitter = Math.random() * 250;
  return { sessionId, jitter };
}

module.exports = { newSession, makeOtp, newSessionSafely };
