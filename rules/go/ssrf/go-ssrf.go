package main

import (
	"io"
	"net/http"
)

func preview(w http.ResponseWriter, r *http.Request) {
	target := r.URL.Query().Get("url")
	// ruleid: go-ssrf
	resp, err := http.Get(target)
	if err != nil {
		return
	}
	io.Copy(w, resp.Body)
}

func hook(w http.ResponseWriter, r *http.Request) {
	// ruleid: go-ssrf
	req, _ := http.NewRequest("POST", r.FormValue("callback"), nil)
	http.DefaultClient.Do(req)
}

func avatar(w http.ResponseWriter, r *http.Request) {
	// ok: go-ssrf
	resp, err := http.Get("https://avatars.example.org/u/" + r.FormValue("user"))
	if err != nil {
		return
	}
	io.Copy(w, resp.Body)
}
