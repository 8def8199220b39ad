from django.http import HttpResponse
from django.utils.html import escape


def echo(request):
    return HttpResponse("<div>%s</div>" % escape(request.GET["msg"]))
