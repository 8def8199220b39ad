const jwt = require("jsonwebtoken");

function userFrom(token) {
  const payload = jwt.decode(token);
  return payload && payload.userId;
}
module.exports = { userFrom };
