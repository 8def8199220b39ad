from shop.models import Order


def orders(request):
    return list(Order.objects.filter(status=request.GET["status"]).values_list("id"))
