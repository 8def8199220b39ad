import os
import psycopg2

conn = psycopg2.connect(host="db.internal", user="billing", password=os.environ["PGPASSWORD"])
