from django.utils.safestring import mark_safe


def bio(request):
    return mark_safe(request.POST["bio"])
