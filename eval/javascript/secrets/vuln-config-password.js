module.exports = {
  db: { host: "db.internal", user: "app", password: "Sup3rS3cret!2024" },
};
