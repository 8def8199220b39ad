const mysql = require("mysql2");

const db = mysql.createConnection({ host: "db" });

function findUser(name, cb) {
  // ruleid: javascript-sql-string-concat
  db.query("SELECT * FROM users WHERE name = '" + name + "'", cb);
  // ruleid: javascript-sql-string-concat
  db.query(`DELETE FROM sessions WHERE user = '${name}'`, cb);
  // ok: javascript-sql-string-concat
  db.query("SELECT * FROM users WHERE name = ?", [name], cb);
  // ok: javascript-sql-string-concat
  db.query("SELECT * FROM users " + "WHERE active = 1", cb);
}

function byStatus(status, cb) {
  const sql = "UPDATE jobs SET seen = 1 WHERE status = '" + status + "'";
  // ruleid: javascript-sql-string-concat
  db.execute(sql, cb);
}

function cacheKey(cache, id) {
  // ok: javascript-sql-string-concat
  return cache.get(`user:${id}`);
}
