import os
from flask import Flask, request

app = Flask(__name__)


@app.route("/dns")
def dns():
    domain = request.args["domain"]
    os.system("dig +short " + domain + " > /tmp/dns.txt")
    return open("/tmp/dns.txt").read()
