def read_motd():
    with open("/etc/motd") as handle:
        return handle.read()
