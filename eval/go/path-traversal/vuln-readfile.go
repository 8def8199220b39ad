package main

import (
	"net/http"
	"os"
)

func page(w http.ResponseWriter, r *http.Request) {
	data, _ := os.ReadFile("/srv/pages/" + r.URL.Query().Get("p"))
	w.Write(data)
}
