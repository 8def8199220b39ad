package main

import (
	"net/http"
	"os/exec"
)

func ping(w http.ResponseWriter, r *http.Request) {
	host := r.URL.Query().Get("host")
	// ruleid: go-command-injection
	out, _ := exec.Command("sh", "-c", "ping -c 1 "+host).Output()
	w.Write(out)
}

func run(w http.ResponseWriter, r *http.Request) {
	tool := r.FormValue("tool")
	// ruleid: go-command-injection
	exec.Command(tool, "--version").Run()
}

func lookup(w http.ResponseWriter, r *http.Request) {
	name := r.FormValue("name")
	// ok: go-command-injection
	out, _ := exec.Command("nslookup", "--", name).Output()
	w.Write(out)
}

func cleanup() {
	// ok: go-command-injection
	exec.Command("sh", "-c", "rm -rf /tmp/cache").Run()
}
