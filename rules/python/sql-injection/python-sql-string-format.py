import sqlite3


def find_user(conn: sqlite3.Connection, name):
    cur = conn.cursor()
    # ruleid: python-sql-string-format
    cur.execute("SELECT * FROM users WHERE name = '%s'" % name)
    # ruleid: python-sql-string-format
    cur.execute(f"SELECT * FROM users WHERE name = '{name}'")
    # ruleid: python-sql-string-format
    cur.execute("DELETE FROM users WHERE name = '{}'".format(name))
    # ruleid: python-sql-string-format
    cur.execute("SELECT * FROM users WHERE name = '" + name + "'")
    # ok: python-sql-string-format
    cur.execute("SELECT * FROM users WHERE name = ?", (name,))
    # ok: python-sql-string-format
    cur.execute("SELECT * FROM users WHERE name = %(name)s", {"name": name})
    return cur.fetchall()


def by_status(conn, status):
    query = "UPDATE jobs SET seen = 1 WHERE status = '%s'" % status
    # ruleid: python-sql-string-format
    conn.execute(query)
    label = "status: %s" % status
    # ok: python-sql-string-format
    print(label)


def django_raw(model, order):
    # ruleid: python-sql-string-format
    return model.objects.raw(f"SELECT * FROM app_item ORDER BY {order}")


def log_line(logger, user):
    # ok: python-sql-string-format
    logger.execute("select a colour for %s" .replace("x", "y"))
