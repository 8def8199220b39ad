import sqlite3
from flask import request


def search():
    db = sqlite3.connect("shop.db")
    rows = db.execute("SELECT name FROM products WHERE name LIKE ?", (f"%{request.args['q']}%",))
    return [r[0] for r in rows]
