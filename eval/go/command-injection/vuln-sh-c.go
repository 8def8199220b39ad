package main

import (
	"net/http"
	"os/exec"
)

func archive(w http.ResponseWriter, r *http.Request) {
	dir := r.FormValue("dir")
	exec.Command("bash", "-c", "tar czf /tmp/a.tgz "+dir).Run()
}
