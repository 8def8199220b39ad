def count_users(cursor):
    cursor.execute("SELECT COUNT(*) FROM accounts WHERE active = 1")
    return cursor.fetchone()[0]
