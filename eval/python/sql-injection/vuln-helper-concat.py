def find_user(cursor, username):
    sql = "SELECT * FROM accounts WHERE username = '" + username + "'"
    cursor.execute(sql)
    return cursor.fetchone()
