package main

import (
	"database/sql"
	"net/http"
)

var db *sql.DB

func search(w http.ResponseWriter, r *http.Request) {
	rows, _ := db.Query("SELECT name FROM items WHERE tag = ?", r.FormValue("tag"))
	defer rows.Close()
}
