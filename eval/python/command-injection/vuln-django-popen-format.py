import subprocess


def convert(request):
    size = request.GET.get("size", "100x100")
    cmd = "convert in.png -resize {} out.png".format(size)
    subprocess.Popen(cmd, shell=True).wait()
    return "ok"
