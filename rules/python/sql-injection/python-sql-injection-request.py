import sqlite3

from flask import Flask, request

app = Flask(__name__)
db = sqlite3.connect("app.db")


@app.route("/users")
def users():
    name = request.args.get("name", "")
    cur = db.cursor()
    # ruleid: python-sql-injection-request
    cur.execute("SELECT * FROM users WHERE name = '%s'" % name)
    query = f"SELECT * FROM users WHERE name LIKE '{name}%'"
    # ruleid: python-sql-injection-request
    cur.execute(query)
    # ok: python-sql-injection-request
    cur.execute("SELECT * FROM users WHERE name = ?", (name,))
    # ok: python-sql-injection-request
    cur.execute("SELECT * FROM users WHERE id = %d" % int(request.args["id"]))
    return str(cur.fetchall())


def django_search(request):
    from django.db import connection

    with connection.cursor() as cursor:
        # ruleid: python-sql-injection-request
        cursor.execute("SELECT * FROM item WHERE tag = '" + request.GET["tag"] + "'")
        # ok: python-sql-injection-request
        cursor.execute("SELECT * FROM item WHERE tag = %s", [request.GET["tag"]])
        return cursor.fetchall()
