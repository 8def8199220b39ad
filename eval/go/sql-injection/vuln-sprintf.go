package main

import (
	"database/sql"
	"fmt"
	"net/http"
)

var db *sql.DB

func search(w http.ResponseWriter, r *http.Request) {
	q := fmt.Sprintf("SELECT name FROM items WHERE tag = '%s'", r.FormValue("tag"))
	rows, _ := db.Query(q)
	defer rows.Close()
}
