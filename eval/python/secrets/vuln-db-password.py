import psycopg2

conn = psycopg2.connect(host="db.internal", user="billing", password="Winter2024!billing")
