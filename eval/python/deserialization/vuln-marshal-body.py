import marshal


def receive(request):
    return marshal.loads(request.body)
