import subprocess

from rest_framework.decorators import api_view
from rest_framework.response import Response


@api_view(["POST"])
def traceroute(request):
    host = request.data["host"]
    out = subprocess.run(f"traceroute {host}", shell=True, capture_output=True)
    return Response(out.stdout)
