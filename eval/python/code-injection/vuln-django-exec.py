def run_snippet(request):
    code = request.POST["code"]
    scope = {}
    exec(code, scope)
    return scope.get("result")
