const { execSync } = require("child_process");

function version() {
  return execSync("git rev-parse HEAD").toString().trim();
}
module.exports = { version };
