package sqlite

import (
	"context"
	"database/sql"
	"testing"
)

// TestConnectionPragmas checks the settings that the durability and
// concurrency promises of this package rest on, on both pools.
func TestConnectionPragmas(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()

	tests := []struct {
		pool   string
		db     *sql.DB
		pragma string
		want   string
	}{
		{"writer", s.writer, "journal_mode", "wal"},
		{"writer", s.writer, "synchronous", "2"}, // FULL
		{"writer", s.writer, "foreign_keys", "0"},
		{"writer", s.writer, "busy_timeout", "5000"},
		{"writer", s.writer, "query_only", "0"},
		{"writer", s.writer, "cache_size", "-65536"}, // KiB
		{"writer", s.writer, "wal_autocheckpoint", "4000"},
		{"writer", s.writer, "user_version", "4"},
		{"reader", s.reader, "journal_mode", "wal"},
		{"reader", s.reader, "synchronous", "2"},
		{"reader", s.reader, "query_only", "1"},
	}
	for _, tc := range tests {
		var got string
		if err := tc.db.QueryRowContext(ctx, "PRAGMA "+tc.pragma).Scan(&got); err != nil {
			t.Errorf("%s: PRAGMA %s: %v", tc.pool, tc.pragma, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%s: PRAGMA %s = %q, want %q", tc.pool, tc.pragma, got, tc.want)
		}
	}
}

func TestReaderRejectsWrites(t *testing.T) {
	s, err := Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()

	_, err = s.reader.Exec(`DELETE FROM history`)
	if err == nil {
		t.Error("DELETE through the read pool succeeded, want an error from query_only")
	}
}
