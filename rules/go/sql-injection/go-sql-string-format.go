package store

import (
	"context"
	"database/sql"
	"fmt"
)

func FindUser(db *sql.DB, name string) (*sql.Rows, error) {
	// ruleid: go-sql-string-format
	return db.Query(fmt.Sprintf("SELECT * FROM users WHERE name = '%s'", name))
}

func DeleteUser(ctx context.Context, db *sql.DB, name string) error {
	// ruleid: go-sql-string-format
	_, err := db.ExecContext(ctx, "DELETE FROM users WHERE name = '"+name+"'")
	return err
}

func CountBy(db *sql.DB, column string) *sql.Row {
	query := fmt.Sprintf("SELECT COUNT(*) FROM users GROUP BY %s", column)
	// ruleid: go-sql-string-format
	return db.QueryRow(query)
}

func FindUserSafely(db *sql.DB, name string) (*sql.Rows, error) {
	// ok: go-sql-string-format
	return db.Query("SELECT * FROM users WHERE name = $1", name)
}

func Label(cache map[string]string, name string) string {
	// ok: go-sql-string-format
	return fmt.Sprintf("select a label for %s", name) + cache[name]
}
