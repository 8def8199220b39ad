from django.http import HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme


def go(request):
    target = request.GET.get("to", "/")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={"app.example.org"}):
        return HttpResponseRedirect(target)
    return HttpResponseRedirect("/")
