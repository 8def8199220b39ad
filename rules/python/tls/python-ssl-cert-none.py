import ssl

import urllib3


def lax_context():
    context = ssl.create_default_context()
    # ruleid: python-ssl-cert-none
    context.check_hostname = False
    # ruleid: python-ssl-cert-none
    context.verify_mode = ssl.CERT_NONE
    return context


def pool():
    # ruleid: python-ssl-cert-none
    return urllib3.PoolManager(cert_reqs="CERT_NONE")


def strict_context():
    context = ssl.create_default_context(cafile="/etc/ssl/private-ca.pem")
    # ok: python-ssl-cert-none
    context.verify_mode = ssl.CERT_REQUIRED
    # ok: python-ssl-cert-none
    context.check_hostname = True
    return context
