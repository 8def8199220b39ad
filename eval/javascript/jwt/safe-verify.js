const jwt = require("jsonwebtoken");

function userFrom(token) {
  return jwt.verify(token, process.env.JWT_KEY, { algorithms: ["HS256"] }).userId;
}
module.exports = { userFrom };
