import subprocess


def rotate_logs():
    subprocess.run("logrotate /etc/logrotate.conf", shell=True, check=True)
