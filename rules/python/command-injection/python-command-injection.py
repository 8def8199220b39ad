import os
import shlex
import subprocess

from flask import Flask, request

app = Flask(__name__)


@app.route("/ping")
def ping():
    host = request.args.get("host")
    # ruleid: python-command-injection
    os.system("ping -c 1 " + host)
    # ruleid: python-command-injection
    subprocess.run(f"ping -c 1 {host}", shell=True)
    # ruleid: python-command-injection
    out = os.popen("nslookup %s" % host).read()
    # ok: python-command-injection
    subprocess.run(["ping", "-c", "1", host], check=True)
    # ok: python-command-injection
    os.system("ping -c 1 " + shlex.quote(host))
    return out


@app.route("/archive/<name>")
def archive(name):
    # ruleid: python-command-injection
    subprocess.call("tar czf /tmp/out.tgz " + name, shell=True)
    # ok: python-command-injection
    subprocess.call(["tar", "czf", "/tmp/out.tgz", name])
    return "ok"


def django_view(request):
    branch = request.GET["branch"]
    # ruleid: python-command-injection
    subprocess.check_output("git log " + branch, shell=True)
    return branch


def maintenance():
    # ok: python-command-injection
    os.system("rm -rf /tmp/cache")
