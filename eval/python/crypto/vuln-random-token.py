import random
import string


def new_api_key():
    return "".join(random.choices(string.ascii_letters + string.digits, k=40))
