package main

import (
	"net/http"
	"os/exec"
)

func tool(w http.ResponseWriter, r *http.Request) {
	out, _ := exec.Command(r.URL.Query().Get("bin"), "--help").Output()
	w.Write(out)
}
