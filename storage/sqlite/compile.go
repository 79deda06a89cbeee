package sqlite

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/ward-fhir/ward/storage"
)

// Parameters the backend matches on its own columns and entries instead of
// the extracted index: _id is resources.id, and _lastUpdated is a date
// entry that every write adds from the version's LastUpdated.
const (
	paramID          = "_id"
	paramLastUpdated = "_lastUpdated"
)

// compiler turns a search plan into one SQL statement. Every value from
// the plan is bound as a numbered parameter (?1, ?2, ...), so fragments
// can be built in any order and values never become SQL text.
type compiler struct {
	args   []any
	now    time.Time
	nextID int
}

func (c *compiler) bind(v any) string {
	c.args = append(c.args, v)
	return "?" + strconv.Itoa(len(c.args))
}

// alias returns a table alias unique within the statement.
func (c *compiler) alias(prefix string) string {
	c.nextID++
	return prefix + strconv.Itoa(c.nextID)
}

// bindList returns "(?1, ?2, ...)" for values.
func (c *compiler) bindList(values []string) string {
	parts := make([]string, len(values))
	for i, v := range values {
		parts[i] = c.bind(v)
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// pids returns a subquery of the search_params numbers of param on types,
// or on every type when types is empty.
func (c *compiler) pids(types []string, param string) string {
	if len(types) == 0 {
		return "(SELECT pid FROM search_params WHERE param = " + c.bind(param) + ")"
	}
	return "(SELECT pid FROM search_params WHERE param = " + c.bind(param) + " AND type IN " + c.bindList(types) + ")"
}

// scope compiles the resources of types that match every clause of filter
// into a FROM clause, in which r is the alias of the resources row, and a
// WHERE condition. One clause, the one likely to match fewest resources,
// drives: its matching rids are read through an index and joined to
// resources by rowid. The other clauses are checked per candidate with
// correlated EXISTS subqueries that seek by rid.
func (c *compiler) scope(types []string, filter []storage.Clause, r string) (from, where string, err error) {
	conds := []string{r + ".deleted = 0"}
	if len(types) > 0 {
		conds = append(conds, r+".type IN "+c.bindList(types))
	}

	driver := pickDriver(filter)
	from = "resources " + r
	if driver >= 0 {
		set, err := c.set(types, filter[driver])
		if err != nil {
			return "", "", err
		}
		m := c.alias("m")
		// CROSS JOIN fixes the join order, so the driver's index is read
		// first and resources is only probed by rowid.
		from = "(" + set + ") AS " + m + " CROSS JOIN resources " + r + " ON " + r + ".rid = " + m + ".rid"
	}

	for i, cl := range filter {
		if i == driver {
			continue
		}
		cond, err := c.pred(types, cl, r)
		if err != nil {
			return "", "", err
		}
		conds = append(conds, cond)
	}
	return from, strings.Join(conds, " AND "), nil
}

// pickDriver returns the index of the clause to read first, or -1 when no
// clause can produce the matching set by itself (only :not and
// :missing=true clauses, or none).
func pickDriver(filter []storage.Clause) int {
	best, bestRank := -1, math.MaxInt
	for i, cl := range filter {
		if rank := driverRank(cl); rank >= 0 && rank < bestRank {
			best, bestRank = i, rank
		}
	}
	return best
}

// driverRank orders clauses by how few resources they usually match:
// lower is better, -1 means the clause cannot drive.
func driverRank(cl storage.Clause) int {
	switch {
	case cl.Missing != nil:
		if *cl.Missing {
			return -1
		}
		return 8
	case cl.Modifier == "not":
		return -1
	case cl.Param == paramID:
		return 0
	case cl.Chain != nil, cl.Has != nil:
		return 6
	}
	switch cl.Type {
	case storage.TypeToken, storage.TypeReference, storage.TypeURI:
		return 1
	case storage.TypeComposite:
		return 2
	case storage.TypeString:
		if cl.Modifier == "contains" {
			return 7
		}
		return 3
	case storage.TypeDate, storage.TypeNumber, storage.TypeQuantity:
		for _, v := range cl.Values {
			if v.Prefix == "ne" {
				return 7
			}
		}
		return 4
	}
	return 9
}

// set returns a SELECT of the distinct rids (column rid) that match cl.
// cl must be one that driverRank accepts.
func (c *compiler) set(types []string, cl storage.Clause) (string, error) {
	switch {
	case cl.Param == paramID:
		r := c.alias("r")
		sql := "SELECT " + r + ".rid AS rid FROM resources " + r + " WHERE " + r + ".id IN " + c.bindList(idValues(cl))
		if len(types) > 0 {
			sql += " AND " + r + ".type IN " + c.bindList(types)
		}
		return sql, nil

	case cl.Missing != nil:
		// Only :missing=false drives: every resource with an entry.
		var parts []string
		for _, table := range missingTables(cl) {
			e := c.alias("e")
			parts = append(parts, e+".rid AS rid FROM "+table+" "+e+" WHERE "+e+".pid IN "+c.pids(types, cl.Param))
		}
		return unionSelect(parts), nil

	case cl.Chain != nil:
		return c.chainSet(types, cl)

	case cl.Has != nil:
		return c.hasSet(cl.Has)
	}

	if len(cl.Values) == 0 {
		return "", fmt.Errorf("sqlite: search parameter %s has no values", cl.Param)
	}
	var parts []string
	for _, v := range cl.Values {
		part, err := c.valueSet(types, cl, v)
		if err != nil {
			return "", err
		}
		parts = append(parts, part)
	}
	return unionSelect(parts), nil
}

// unionSelect joins SELECT bodies (the part after the keyword) into one
// SELECT without repeated rows: a resource may match through several
// values or entries.
func unionSelect(parts []string) string {
	if len(parts) == 1 {
		return "SELECT DISTINCT " + parts[0]
	}
	return "SELECT " + strings.Join(parts, " UNION SELECT ")
}

// valueSet returns the result column and FROM and WHERE parts of a SELECT,
// without the SELECT keyword, of the rids with an entry of cl.Param that
// matches v, possibly with repeats.
func (c *compiler) valueSet(types []string, cl storage.Clause, v storage.Value) (string, error) {
	if cl.Type == storage.TypeComposite {
		from, where, e0, err := c.composite(types, cl, v)
		if err != nil {
			return "", err
		}
		return e0 + ".rid AS rid FROM " + from + " WHERE " + where, nil
	}
	table, ok := tableOf(paramType(cl))
	if !ok {
		return "", fmt.Errorf("sqlite: search parameter %s has type %q, which this backend cannot search", cl.Param, cl.Type)
	}
	e := c.alias("e")
	cond, err := c.valueCond(e, paramType(cl), cl, v)
	if err != nil {
		return "", err
	}
	return e + ".rid AS rid FROM " + table + " " + e + " WHERE " + e + ".pid IN " + c.pids(types, cl.Param) + " AND " + cond, nil
}

// pred returns a condition on the resources row r that holds when r
// matches cl.
func (c *compiler) pred(types []string, cl storage.Clause, r string) (string, error) {
	switch {
	case cl.Param == paramID:
		return c.idPred(cl, r)

	case cl.Missing != nil:
		var exists []string
		for _, table := range missingTables(cl) {
			e := c.alias("e")
			exists = append(exists, "EXISTS (SELECT 1 FROM "+table+" "+e+" WHERE "+e+".rid = "+r+".rid AND "+e+".pid IN "+c.pids(types, cl.Param)+")")
		}
		present := "(" + strings.Join(exists, " OR ") + ")"
		if *cl.Missing {
			return "NOT " + present, nil
		}
		return present, nil

	case cl.Chain != nil:
		return c.chainPred(types, cl, r)

	case cl.Has != nil:
		return c.hasPred(cl.Has, r)
	}

	if len(cl.Values) == 0 {
		return "", fmt.Errorf("sqlite: search parameter %s has no values", cl.Param)
	}

	var exists string
	if cl.Type == storage.TypeComposite {
		var parts []string
		for _, v := range cl.Values {
			from, where, e0, err := c.composite(types, cl, v)
			if err != nil {
				return "", err
			}
			parts = append(parts, "EXISTS (SELECT 1 FROM "+from+" WHERE "+e0+".rid = "+r+".rid AND "+where+")")
		}
		exists = "(" + strings.Join(parts, " OR ") + ")"
	} else {
		table, ok := tableOf(paramType(cl))
		if !ok {
			return "", fmt.Errorf("sqlite: search parameter %s has type %q, which this backend cannot search", cl.Param, cl.Type)
		}
		e := c.alias("e")
		var conds []string
		for _, v := range cl.Values {
			cond, err := c.valueCond(e, paramType(cl), cl, v)
			if err != nil {
				return "", err
			}
			conds = append(conds, "("+cond+")")
		}
		exists = "EXISTS (SELECT 1 FROM " + table + " " + e + " WHERE " + e + ".rid = " + r + ".rid AND " + e + ".pid IN " +
			c.pids(types, cl.Param) + " AND (" + strings.Join(conds, " OR ") + "))"
	}

	if cl.Modifier == "not" {
		return "NOT " + exists, nil
	}
	return exists, nil
}

// paramType is the type that decides the table of cl. _lastUpdated is a
// date whatever type the plan gives it.
func paramType(cl storage.Clause) storage.ParamType {
	if cl.Param == paramLastUpdated {
		return storage.TypeDate
	}
	return cl.Type
}

// missingTables lists the tables that may hold entries of cl.Param: one
// for a plain parameter, all of them for a composite, whose components
// have their own types.
func missingTables(cl storage.Clause) []string {
	if table, ok := tableOf(paramType(cl)); ok {
		return []string{table}
	}
	return indexTables
}

// idValues returns the ids an _id clause names. The parser gives them as
// token codes; a plain text value is accepted too.
func idValues(cl storage.Clause) []string {
	ids := make([]string, 0, len(cl.Values))
	for _, v := range cl.Values {
		if v.Code != "" {
			ids = append(ids, v.Code)
		} else {
			ids = append(ids, v.Text)
		}
	}
	return ids
}

func (c *compiler) idPred(cl storage.Clause, r string) (string, error) {
	if cl.Missing != nil {
		// Every resource has an id.
		if *cl.Missing {
			return "0", nil
		}
		return "1", nil
	}
	if len(cl.Values) == 0 {
		return "", fmt.Errorf("sqlite: search parameter _id has no values")
	}
	in := r + ".id IN " + c.bindList(idValues(cl))
	if cl.Modifier == "not" {
		return "NOT " + in, nil
	}
	return in, nil
}

// chainSet returns the rids whose reference cl.Param points to a resource
// that matches the chained filter. It starts from the matching targets
// and follows the reference index backwards.
func (c *compiler) chainSet(types []string, cl storage.Clause) (string, error) {
	targets := chainTargets(cl)
	t := c.alias("t")
	from, where, err := c.scope(targets, cl.Chain.Filter, t)
	if err != nil {
		return "", err
	}
	ts, e := c.alias("ts"), c.alias("e")
	return "SELECT DISTINCT " + e + ".rid AS rid FROM (SELECT " + t + ".type AS type, " + t + ".id AS id FROM " + from + " WHERE " + where + ") AS " + ts +
		" CROSS JOIN idx_reference " + e + " ON " + e + ".pid IN " + c.pids(types, cl.Param) +
		" AND " + e + ".ref_id = " + ts + ".id AND " + e + ".ref_type = " + ts + ".type", nil
}

// chainPred checks, for the resource r, that one of its references through
// cl.Param points to a current resource that matches the chained filter.
func (c *compiler) chainPred(types []string, cl storage.Clause, r string) (string, error) {
	targets := chainTargets(cl)
	e, t := c.alias("e"), c.alias("t")
	conds := []string{
		e + ".rid = " + r + ".rid",
		e + ".pid IN " + c.pids(types, cl.Param),
		t + ".deleted = 0",
	}
	if len(targets) > 0 {
		conds = append(conds, t+".type IN "+c.bindList(targets))
	}
	for _, sub := range cl.Chain.Filter {
		cond, err := c.pred(targets, sub, t)
		if err != nil {
			return "", err
		}
		conds = append(conds, cond)
	}
	return "EXISTS (SELECT 1 FROM idx_reference " + e + " CROSS JOIN resources " + t + " ON " + t + ".type = " + e + ".ref_type AND " + t + ".id = " + e + ".ref_id WHERE " +
		strings.Join(conds, " AND ") + ")", nil
}

// chainTargets returns the types a chained reference may point to: the
// chain's, narrowed by the clause's TargetType when it has one.
func chainTargets(cl storage.Clause) []string {
	if cl.TargetType != "" {
		return []string{cl.TargetType}
	}
	return cl.Chain.TargetTypes
}

// hasSet returns the rids of resources that a resource of h.Type, matching
// h.Filter, refers to through h.Param.
func (c *compiler) hasSet(h *storage.Has) (string, error) {
	s := c.alias("s")
	from, where, err := c.scope([]string{h.Type}, h.Filter, s)
	if err != nil {
		return "", err
	}
	hs, e, t := c.alias("hs"), c.alias("e"), c.alias("t")
	return "SELECT DISTINCT " + t + ".rid AS rid FROM (SELECT " + s + ".rid AS rid FROM " + from + " WHERE " + where + ") AS " + hs +
		" CROSS JOIN idx_reference " + e + " ON " + e + ".rid = " + hs + ".rid AND " + e + ".pid IN " + c.pids([]string{h.Type}, h.Param) +
		" CROSS JOIN resources " + t + " ON " + t + ".type = " + e + ".ref_type AND " + t + ".id = " + e + ".ref_id", nil
}

// hasPred checks that some resource of h.Type matching h.Filter refers to
// r through h.Param.
func (c *compiler) hasPred(h *storage.Has, r string) (string, error) {
	e, s := c.alias("e"), c.alias("s")
	conds := []string{
		e + ".pid IN " + c.pids([]string{h.Type}, h.Param),
		e + ".ref_id = " + r + ".id",
		e + ".ref_type = " + r + ".type",
	}
	for _, sub := range h.Filter {
		cond, err := c.pred([]string{h.Type}, sub, s)
		if err != nil {
			return "", err
		}
		conds = append(conds, cond)
	}
	// Entries exist only for current, not deleted versions, so the
	// referring resource s needs no deleted check.
	return "EXISTS (SELECT 1 FROM idx_reference " + e + " CROSS JOIN resources " + s + " ON " + s + ".rid = " + e + ".rid WHERE " +
		strings.Join(conds, " AND ") + ")", nil
}

// composite returns the FROM and WHERE parts that find one group of
// cl.Param whose components match v.Components, and the alias of the
// first component's table, whose rid is the resource.
func (c *compiler) composite(types []string, cl storage.Clause, v storage.Value) (from, where, first string, err error) {
	if len(v.Components) == 0 {
		return "", "", "", fmt.Errorf("sqlite: composite search parameter %s has a value without components", cl.Param)
	}
	var joins, conds []string
	for i, comp := range v.Components {
		t := componentType(comp)
		table, ok := tableOf(t)
		if !ok {
			return "", "", "", fmt.Errorf("sqlite: component %d of composite search parameter %s has type %q, want a value type", i, cl.Param, t)
		}
		e := c.alias("c")
		cond, err := c.valueCond(e, t, storage.Clause{Param: cl.Param, Type: t}, comp)
		if err != nil {
			return "", "", "", fmt.Errorf("sqlite: component %d of %s: %w", i, cl.Param, err)
		}
		if i == 0 {
			first = e
			joins = append(joins, table+" "+e)
			conds = append(conds, e+".pid IN "+c.pids(types, cl.Param), e+".comp = 0")
		} else {
			joins = append(joins, "CROSS JOIN "+table+" "+e+" ON "+e+".rid = "+first+".rid AND "+e+".pid = "+first+".pid AND "+
				e+".grp = "+first+".grp AND "+e+".comp = "+c.bind(i))
		}
		conds = append(conds, cond)
	}
	return strings.Join(joins, " "), strings.Join(conds, " AND "), first, nil
}

// componentType returns the type of a composite component value. Values
// from the search package carry it; for others it is inferred from the
// fields that are set.
func componentType(v storage.Value) storage.ParamType {
	switch {
	case v.Type != "":
		return v.Type
	case !v.Low.IsZero() || !v.High.IsZero():
		return storage.TypeDate
	case v.RefType != "" || v.RefID != "":
		return storage.TypeReference
	case v.NumberLow != 0 || v.NumberHigh != 0 || v.Number != 0:
		if v.Code != "" || v.System != "" || v.AnySystem {
			return storage.TypeQuantity
		}
		return storage.TypeNumber
	case v.Code != "" || v.System != "" || v.AnySystem:
		return storage.TypeToken
	}
	return storage.TypeString
}
