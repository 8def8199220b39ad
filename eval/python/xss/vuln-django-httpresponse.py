from django.http import HttpResponse


def echo(request):
    return HttpResponse("<div>%s</div>" % request.GET["msg"])
