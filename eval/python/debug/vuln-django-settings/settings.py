SECRET_KEY_FILE = "/run/secrets/django"
DEBUG = True
ALLOWED_HOSTS = ["*"]
