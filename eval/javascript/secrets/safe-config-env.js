module.exports = {
  db: { host: "db.internal", user: "app", password: process.env.DB_PASSWORD },
};
