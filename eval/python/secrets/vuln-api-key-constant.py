SENDGRID_API_KEY = "SG.x7Yq2mP9rL4vT8bN1cW6zD3fH5jK0sA"


def headers():
    return {"Authorization": "Bearer " + SENDGRID_API_KEY}
