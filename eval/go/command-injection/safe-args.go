package main

import (
	"net/http"
	"os/exec"
)

func archive(w http.ResponseWriter, r *http.Request) {
	exec.Command("tar", "czf", "/tmp/a.tgz", "--", r.FormValue("dir")).Run()
}
