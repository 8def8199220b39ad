PASSWORD_FIELD = "password"
TOKEN_HEADER = "X-Api-Token"


def form_fields():
    return [PASSWORD_FIELD, "username"]
