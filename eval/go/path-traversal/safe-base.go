package main

import (
	"net/http"
	"os"
	"path/filepath"
)

func page(w http.ResponseWriter, r *http.Request) {
	name := filepath.Base(r.URL.Query().Get("p"))
	data, _ := os.ReadFile(filepath.Join("/srv/pages", name))
	w.Write(data)
}
