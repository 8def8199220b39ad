import os

# ruleid: python-django-debug
DEBUG = True
# ok: python-django-debug
TEMPLATE_DEBUG = os.environ.get("DJANGO_DEBUG") == "1"
ALLOWED_HOSTS = ["app.example.org"]


class TestSettings:
    # ok: python-django-debug
    DEBUG = True
