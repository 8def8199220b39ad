package main

import (
	"net/http"
	"os"
	"path/filepath"
)

const base = "/srv/files"

func download(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("name")
	// ruleid: go-path-traversal
	data, _ := os.ReadFile(filepath.Join(base, name))
	w.Write(data)
}

func serve(w http.ResponseWriter, r *http.Request) {
	// ruleid: go-path-traversal
	http.ServeFile(w, r, base+"/"+r.FormValue("file"))
}

func downloadSafely(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Query().Get("name")
	// ok: go-path-traversal
	data, _ := os.ReadFile(filepath.Join(base, filepath.Base(name)))
	w.Write(data)
}

func index(w http.ResponseWriter, r *http.Request) {
	// ok: go-path-traversal
	data, _ := os.ReadFile(filepath.Join(base, "index.html"))
	w.Write(data)
}
