const MAPS = "AIzaSyB7k2Q9mX4vL8nT3cW6zD1fH5jR0sA2gEp";
module.exports = { MAPS };
