package sqlite

import (
	"context"
	"fmt"
	"math"
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
// when it is new. New pids go to tx.pending.
func (s *Store) paramID(ctx context.Context, tx *writeTx, k paramKey) (int64, error) {
	if id, ok := s.params.lookup(k); ok {
		return id, nil
	}
	if id, ok := tx.pending[k]; ok {
		return id, nil
	}

	var id int64
	err := tx.stmt(ctx, tx.stmts.insertParam).QueryRowContext(ctx, k.param, k.resourceType).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("sqlite: number search parameter %s.%s: %w", k.resourceType, k.param, err)
	}
	tx.pending[k] = id
	return id, nil
}

// entryTable is one idx_* table: its name, the type of the entries it
// stores, and its value columns after entryColumns, in insert order.
type entryTable struct {
	name    string
	typ     storage.ParamType
	columns []string
}

// entryColumns are the columns that every idx_* table starts with.
var entryColumns = [...]string{"rid", "pid", "n", "grp", "comp"}

// entryTables lists the idx_* tables. Their order numbers the prepared
// statements in writeStatements.
var entryTables = [...]entryTable{
	{"idx_string", storage.TypeString, []string{"text", "exact"}},
	{"idx_token", storage.TypeToken, []string{"system", "code", "text", "type_system", "type_code"}},
	{"idx_reference", storage.TypeReference, []string{"ref_type", "ref_id", "ref_version", "url", "system", "code"}},
	{"idx_date", storage.TypeDate, []string{"lo", "hi"}},
	{"idx_number", storage.TypeNumber, []string{"num"}},
	{"idx_quantity", storage.TypeQuantity, []string{"num", "system", "code", "canonical"}},
	{"idx_uri", storage.TypeURI, []string{"uri"}},
}

// indexTables lists the names of every idx_* table.
var indexTables = func() []string {
	names := make([]string, len(entryTables))
	for i, t := range entryTables {
		names[i] = t.name
	}
	return names
}()

// tableIndex returns the position in entryTables of the table that stores
// entries of type t.
func tableIndex(t storage.ParamType) (int, bool) {
	for i := range entryTables {
		if entryTables[i].typ == t {
			return i, true
		}
	}
	return 0, false
}

// tableOf returns the idx_* table that stores entries of type t.
func tableOf(t storage.ParamType) (string, bool) {
	i, ok := tableIndex(t)
	if !ok {
		return "", false
	}
	return entryTables[i].name, true
}

// appendEntryValues appends the value columns of e, in the order of its
// table's columns.
func appendEntryValues(args []any, e storage.IndexEntry) []any {
	switch e.Type {
	case storage.TypeString:
		return append(args, e.Text, e.Exact)
	case storage.TypeToken:
		return append(args, e.System, e.Code, e.Text, e.TypeSystem, e.TypeCode)
	case storage.TypeReference:
		return append(args, e.RefType, e.RefID, e.RefVersion, e.Exact, e.System, e.Code)
	case storage.TypeDate:
		return append(args, lowMicros(e.Low), highMicros(e.High))
	case storage.TypeNumber:
		return append(args, e.Number)
	case storage.TypeQuantity:
		return append(args, e.Number, e.System, e.Code, e.Canonical)
	case storage.TypeURI:
		return append(args, e.Exact)
	}
	return args
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

// removeEntries deletes every index entry of the resource rid.
func removeEntries(ctx context.Context, tx *writeTx, rid int64) error {
	for i, stmt := range tx.stmts.deleteEntries {
		if _, err := tx.stmt(ctx, stmt).ExecContext(ctx, rid); err != nil {
			return fmt.Errorf("remove entries of %s: %w", entryTables[i].name, err)
		}
	}
	return nil
}

// entryRow is one index entry ready to insert, with its position n in
// the write's list and its parameter's pid.
type entryRow struct {
	n     int
	pid   int64
	entry *storage.IndexEntry
}

// insertEntries inserts w.Index, plus the backend's own _lastUpdated
// entry, as the index entries of the resource rid, which has none yet.
func (s *Store) insertEntries(ctx context.Context, tx *writeTx, rid int64, w storage.Write, lastUpdated time.Time) error {
	// The backend matches _id on resources.id and indexes _lastUpdated
	// itself from the stored time, so entries for them are replaced.
	own := storage.IndexEntry{Param: paramLastUpdated, Type: storage.TypeDate, Low: lastUpdated, High: lastUpdated}

	var byTable [len(entryTables)][]entryRow
	add := func(n int, e *storage.IndexEntry) error {
		table, _ := tableIndex(e.Type)
		pid, err := s.paramID(ctx, tx, paramKey{w.Type, e.Param})
		if err != nil {
			return err
		}
		byTable[table] = append(byTable[table], entryRow{n: n, pid: pid, entry: e})
		return nil
	}
	if err := add(0, &own); err != nil {
		return err
	}
	for i := range w.Index {
		e := &w.Index[i]
		switch {
		case e.Param == paramID || e.Param == paramLastUpdated:
			continue
		case e.Type == storage.TypeSpecial:
			// NOTE: special parameters (near, _text, _content) are not
			// searchable in this backend, so their entries are dropped.
			continue
		}
		// n numbers the entries as the list with _lastUpdated in front.
		if err := add(i+1, e); err != nil {
			return err
		}
	}

	var args []any
	for table, rows := range byTable {
		for len(rows) > 0 {
			size := 0
			for size < len(insertSizes)-1 && insertSizes[size] > len(rows) {
				size++
			}
			chunk := rows[:insertSizes[size]]
			rows = rows[len(chunk):]

			args = args[:0]
			for _, r := range chunk {
				args = append(args, rid, r.pid, r.n, r.entry.Group, r.entry.Component)
				args = appendEntryValues(args, *r.entry)
			}
			if _, err := tx.stmt(ctx, tx.stmts.insertEntries[table][size]).ExecContext(ctx, args...); err != nil {
				return fmt.Errorf("insert %s entries: %w", entryTables[table].typ, err)
			}
		}
	}
	return nil
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
