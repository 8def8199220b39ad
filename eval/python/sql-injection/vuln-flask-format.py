import sqlite3
from flask import request


def search():
    term = request.args["q"]
    db = sqlite3.connect("shop.db")
    rows = db.execute("SELECT name FROM products WHERE name LIKE '%{}%'".format(term))
    return [r[0] for r in rows]
