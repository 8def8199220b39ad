from flask import request


def _lookup(cursor, column, value):
    cursor.execute("SELECT id FROM users WHERE %s = '%s'" % (column, value))
    return cursor.fetchall()


def search(cursor):
    return _lookup(cursor, "email", request.args["email"])
