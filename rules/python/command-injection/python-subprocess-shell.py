import os
import shlex
import subprocess


def backup(target):
    # ruleid: python-subprocess-shell
    os.system("cp -r data " + target)
    # ruleid: python-subprocess-shell
    subprocess.run("rsync -a data %s" % target, shell=True)
    # ok: python-subprocess-shell
    subprocess.run("rsync -a data /backup", shell=True)
    # ok: python-subprocess-shell
    subprocess.run(["rsync", "-a", "data", target])
    # ok: python-subprocess-shell
    os.system("sync")
    # ok: python-subprocess-shell
    os.system("cp -r data " + shlex.quote(target))
