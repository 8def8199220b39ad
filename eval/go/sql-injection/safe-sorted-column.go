package main

import (
	"database/sql"
	"fmt"
	"net/http"
)

var db *sql.DB
var columns = map[string]string{"name": "name", "date": "created_at"}

func list(w http.ResponseWriter, r *http.Request) {
	column, ok := columns[r.FormValue("sort")]
	if !ok {
		column = "name"
	}
	rows, _ := db.Query(fmt.Sprintf("SELECT id FROM items ORDER BY %s", column))
	defer rows.Close()
}
