package main

import (
	"io"
	"net/http"
)

func proxy(w http.ResponseWriter, r *http.Request) {
	resp, err := http.Get(r.FormValue("u"))
	if err == nil {
		io.Copy(w, resp.Body)
	}
}
