from django.db import connection


def orders(request):
    status = request.GET["status"]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM orders WHERE status = '{status}'")
        return cursor.fetchall()
