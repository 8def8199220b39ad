package main

import (
	"io"
	"net/http"
)

func proxy(w http.ResponseWriter, r *http.Request) {
	resp, err := http.Get("https://api.example.org/items/" + r.FormValue("id"))
	if err == nil {
		io.Copy(w, resp.Body)
	}
}
