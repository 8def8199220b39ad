def read_note(request):
    with open("/srv/notes/" + request.GET["note"]) as handle:
        return handle.read()
