from urllib.request import urlopen


def mirror(request):
    target = request.POST["source"]
    return urlopen(target).read()
