package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/ward-fhir/ward/storage"
)

// paramKey names one search parameter of one resource type.
type paramKey struct {
	resourceType string
	param        string
}

// paramCache maps (type, parameter) to its search_params.pid. It holds only
// pids of committed transactions: a pid created by a transaction that rolls
// back may be given to another pair later, so a write records new pids in
// its own pending map and publishes them after its commit.
type paramCache struct {
	mu  sync.RWMutex
	ids map[paramKey]int64
}

func (c *paramCache) lookup(k paramKey) (int64, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	id, ok := c.ids[k]
	return id, ok
}

func (c *paramCache) publish(pending map[paramKey]int64) {
	if len(pending) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, id := range pending {
		c.ids[k] = id
	}
}

// paramID returns the pid of (resourceType, param), creating it inside tx
// when it is new. New pids go to pending.
func (s *Store) paramID(ctx context.Context, tx *sql.Tx, k paramKey, pending map[paramKey]int64) (int64, error) {
	if id, ok := s.params.lookup(k); ok {
		return id, nil
	}
	if id, ok := pending[k]; ok {
		return id, nil
	}

	var id int64
	err := tx.QueryRowContext(ctx,
		`INSERT INTO search_params (param, type) VALUES (?, ?)
		 ON CONFLICT (param, type) DO UPDATE SET param = excluded.param
		 RETURNING pid`, k.param, k.resourceType).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("sqlite: number search parameter %s.%s: %w", k.resourceType, k.param, err)
	}
	pending[k] = id
	return id, nil
}

// indexTables lists every idx_* table, for removing a resource's entries.
var indexTables = []string{"idx_string", "idx_token", "idx_reference", "idx_date", "idx_number", "idx_quantity", "idx_uri"}

// indexColumns are the value columns of each table after the common
// (rid, pid, n, grp, comp), in insert order.
var indexColumns = map[storage.ParamType][]string{
	storage.TypeString:    {"text", "exact"},
	storage.TypeToken:     {"system", "code", "text", "type_system", "type_code"},
	storage.TypeReference: {"ref_type", "ref_id", "ref_version", "url", "system", "code"},
	storage.TypeDate:      {"lo", "hi"},
	storage.TypeNumber:    {"num"},
	storage.TypeQuantity:  {"num", "system", "code", "canonical"},
	storage.TypeURI:       {"uri"},
}

// tableOf returns the idx_* table that stores entries of type t.
func tableOf(t storage.ParamType) (string, bool) {
	switch t {
	case storage.TypeString:
		return "idx_string", true
	case storage.TypeToken:
		return "idx_token", true
	case storage.TypeReference:
		return "idx_reference", true
	case storage.TypeDate:
		return "idx_date", true
	case storage.TypeNumber:
		return "idx_number", true
	case storage.TypeQuantity:
		return "idx_quantity", true
	case storage.TypeURI:
		return "idx_uri", true
	}
	return "", false
}

// entryValues returns the value columns of e in indexColumns order.
func entryValues(e storage.IndexEntry) []any {
	switch e.Type {
	case storage.TypeString:
		return []any{e.Text, e.Exact}
	case storage.TypeToken:
		return []any{e.System, e.Code, e.Text, e.TypeSystem, e.TypeCode}
	case storage.TypeReference:
		return []any{e.RefType, e.RefID, e.RefVersion, e.Exact, e.System, e.Code}
	case storage.TypeDate:
		return []any{lowMicros(e.Low), highMicros(e.High)}
	case storage.TypeNumber:
		return []any{e.Number}
	case storage.TypeQuantity:
		return []any{e.Number, e.System, e.Code, e.Canonical}
	case storage.TypeURI:
		return []any{e.Exact}
	}
	return nil
}

// lowMicros and highMicros turn the ends of a closed date range into
// microseconds since the Unix epoch, with the zero time as an open end.
// Microseconds reach far beyond the years FHIR can write, where
// nanoseconds stop at 2262. Rounding down keeps order: a < b still gives
// floor(a) <= floor(b), and ranges that meet at a whole microsecond, as
// precision-derived ranges do, stay apart.
func lowMicros(t time.Time) int64 {
	if t.IsZero() {
		return math.MinInt64
	}
	return t.UnixMicro()
}

func highMicros(t time.Time) int64 {
	if t.IsZero() {
		return math.MaxInt64
	}
	return t.UnixMicro()
}

// maxRowsPerInsert bounds the rows of one multi-row INSERT, to stay far
// below SQLite's limit on bound parameters per statement.
const maxRowsPerInsert = 64

// replaceIndex removes the index entries of the resource rid and, unless
// the write is a deletion, inserts w.Index in their place.
func (s *Store) replaceIndex(ctx context.Context, tx *sql.Tx, rid int64, w storage.Write, pending map[paramKey]int64) error {
	// A first version has no entries to remove, and a version after a
	// deletion had its entries removed by the deletion.
	if w.VersionID > 1 {
		for _, table := range indexTables {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE rid = ?`, rid); err != nil {
				return fmt.Errorf("sqlite: write %s/%s: remove entries of %s: %w", w.Type, w.ID, table, err)
			}
		}
	}
	if w.Op == storage.OpDelete {
		return nil
	}

	// The backend matches _id on resources.id and indexes _lastUpdated
	// itself from the stored time, so entries for them are replaced.
	lastUpdated := w.LastUpdated.UTC().Truncate(time.Millisecond)
	entries := append([]storage.IndexEntry{{Param: paramLastUpdated, Type: storage.TypeDate, Low: lastUpdated, High: lastUpdated}}, w.Index...)

	rows := map[storage.ParamType][][]any{}
	for n, e := range entries {
		switch {
		case n > 0 && (e.Param == paramID || e.Param == paramLastUpdated):
			continue
		case e.Type == storage.TypeSpecial:
			// NOTE: special parameters (near, _text, _content) are not
			// searchable in this backend, so their entries are dropped.
			continue
		}
		pid, err := s.paramID(ctx, tx, paramKey{w.Type, e.Param}, pending)
		if err != nil {
			return err
		}
		row := append([]any{rid, pid, n, e.Group, e.Component}, entryValues(e)...)
		rows[e.Type] = append(rows[e.Type], row)
	}

	for t, all := range rows {
		table, _ := tableOf(t)
		columns := append([]string{"rid", "pid", "n", "grp", "comp"}, indexColumns[t]...)
		for start := 0; start < len(all); start += maxRowsPerInsert {
			chunk := all[start:min(start+maxRowsPerInsert, len(all))]
			if err := insertRows(ctx, tx, table, columns, chunk); err != nil {
				return fmt.Errorf("sqlite: write %s/%s: insert %s entries: %w", w.Type, w.ID, t, err)
			}
		}
	}
	return nil
}

// insertRows inserts rows into table with one statement, every value a
// bound parameter.
func insertRows(ctx context.Context, tx *sql.Tx, table string, columns []string, rows [][]any) error {
	placeholders := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(columns)), ", ") + ")"
	var b strings.Builder
	b.WriteString("INSERT INTO " + table + " (" + strings.Join(columns, ", ") + ") VALUES ")
	args := make([]any, 0, len(rows)*len(columns))
	for i, row := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(placeholders)
		args = append(args, row...)
	}
	_, err := tx.ExecContext(ctx, b.String(), args...)
	return err
}

// validateIndex rejects entries that no table can hold.
func validateIndex(w storage.Write) error {
	if w.Op == storage.OpDelete && len(w.Index) > 0 {
		return fmt.Errorf("sqlite: write %s/%s version %d: delete carries %d index entries, want none", w.Type, w.ID, w.VersionID, len(w.Index))
	}
	for i, e := range w.Index {
		if e.Param == "" {
			return fmt.Errorf("sqlite: write %s/%s: index entry %d has no parameter code", w.Type, w.ID, i)
		}
		if e.Type == storage.TypeSpecial {
			continue
		}
		if _, ok := tableOf(e.Type); !ok {
			return fmt.Errorf("sqlite: write %s/%s: index entry %d (%s) has type %q, want a value type (a composite stores one entry per component with the component's type)",
				w.Type, w.ID, i, e.Param, e.Type)
		}
	}
	return nil
}
