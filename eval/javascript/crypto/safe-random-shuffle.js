function shuffle(items) {
  return items.map((v) => [Math.random(), v]).sort((a, b) => a[0] - b[0]).map((p) => p[1]);
}
module.exports = { shuffle };
