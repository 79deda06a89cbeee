package mongo

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/ward-fhir/ward/storage"
)

// compiler turns a search plan into a MongoDB filter on the resources
// collection. Chains and _has run as their own queries while the plan
// compiles (see linkedTargets), so the filter it returns only compares
// fields of one document.
type compiler struct {
	store *Store
	now   time.Time
}

// matchNothing is a filter that no document matches.
var matchNothing = bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: bson.A{}}}}}

// scope returns the filter of the current, not deleted resources of types
// (every type when types is empty) that match every clause of filter.
func (c *compiler) scope(ctx context.Context, types []string, filter []storage.Clause) (bson.D, error) {
	conds := bson.A{bson.D{{Key: "deleted", Value: false}}}
	switch len(types) {
	case 0:
	case 1:
		conds = append(conds, bson.D{{Key: "type", Value: types[0]}})
	default:
		conds = append(conds, bson.D{{Key: "type", Value: bson.D{{Key: "$in", Value: types}}}})
	}

	for _, cl := range filter {
		pred, err := c.clause(ctx, types, cl)
		if err != nil {
			return nil, err
		}
		conds = append(conds, pred)
	}
	return bson.D{{Key: "$and", Value: conds}}, nil
}

// clause returns the filter of the resources that match cl.
func (c *compiler) clause(ctx context.Context, types []string, cl storage.Clause) (bson.D, error) {
	switch {
	case cl.Param == paramID:
		return idClause(types, cl)
	case cl.Missing != nil:
		return missingClause(cl), nil
	case cl.Chain != nil:
		return c.chainClause(ctx, cl)
	case cl.Has != nil:
		return c.hasClause(ctx, cl.Has)
	}
	if len(cl.Values) == 0 {
		return nil, fmt.Errorf("mongo: search parameter %s has no values", cl.Param)
	}

	var match bson.D
	var err error
	switch {
	case cl.Param == paramLastUpdated:
		match, err = c.lastUpdatedClause(cl)
	case cl.Type == storage.TypeString, cl.Type == storage.TypeToken, cl.Type == storage.TypeReference, cl.Type == storage.TypeURI:
		match, err = keyClause(cl)
	case cl.Type == storage.TypeDate, cl.Type == storage.TypeNumber, cl.Type == storage.TypeQuantity, cl.Type == storage.TypeComposite:
		match, err = c.elementClause(cl)
	default:
		return nil, fmt.Errorf("mongo: search parameter %s has type %q, which this backend cannot search", cl.Param, cl.Type)
	}
	if err != nil {
		return nil, err
	}
	if cl.Modifier == "not" {
		return bson.D{{Key: "$nor", Value: bson.A{match}}}, nil
	}
	return match, nil
}

// idClause matches _id on the id field. With the types known, the ids
// become "Type/id" keys, so the _id index finds them.
func idClause(types []string, cl storage.Clause) (bson.D, error) {
	if cl.Missing != nil {
		// Every resource has an id.
		if *cl.Missing {
			return matchNothing, nil
		}
		return bson.D{}, nil
	}
	if len(cl.Values) == 0 {
		return nil, fmt.Errorf("mongo: search parameter _id has no values")
	}

	ids := make([]string, 0, len(cl.Values))
	for _, v := range cl.Values {
		// The parser gives ids as token codes; a plain text value is
		// accepted too.
		if v.Code != "" {
			ids = append(ids, v.Code)
		} else {
			ids = append(ids, v.Text)
		}
	}

	var match bson.D
	if len(types) > 0 && len(types)*len(ids) <= maxIDKeys {
		keys := make(bson.A, 0, len(types)*len(ids))
		for _, t := range types {
			for _, id := range ids {
				keys = append(keys, resourceKey(t, id))
			}
		}
		match = bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: keys}}}}
	} else {
		match = bson.D{{Key: "id", Value: bson.D{{Key: "$in", Value: ids}}}}
	}
	if cl.Modifier == "not" {
		return bson.D{{Key: "$nor", Value: bson.A{match}}}, nil
	}
	return match, nil
}

// maxIDKeys bounds the "Type/id" keys an _id clause expands to before it
// compares the id field instead.
const maxIDKeys = 1000

// missingClause matches on the list of parameters a resource has entries
// for. _lastUpdated is never missing.
func missingClause(cl storage.Clause) bson.D {
	if cl.Param == paramLastUpdated {
		if *cl.Missing {
			return matchNothing
		}
		return bson.D{}
	}
	if *cl.Missing {
		return bson.D{{Key: "has", Value: bson.D{{Key: "$ne", Value: cl.Param}}}}
	}
	return bson.D{{Key: "has", Value: cl.Param}}
}

// keyClause matches string, token, reference and uri values through the
// keys array: one $in over every key or key prefix that a value accepts.
func keyClause(cl storage.Clause) (bson.D, error) {
	var in bson.A
	for _, v := range cl.Values {
		matchers, err := valueKeys(cl, v)
		if err != nil {
			return nil, err
		}
		in = append(in, matchers...)
	}
	if len(in) == 0 {
		return matchNothing, nil
	}
	return bson.D{{Key: "k", Value: bson.D{{Key: "$in", Value: in}}}}, nil
}

// elementClause matches date, number, quantity and composite values, each
// with one $elemMatch, so that all the conditions of a value hold for one
// element. Several values are OR-ed, each branch with its own index scan.
func (c *compiler) elementClause(cl storage.Clause) (bson.D, error) {
	var branches bson.A
	for _, v := range cl.Values {
		match, err := c.elementMatch(cl, v)
		if err != nil {
			return nil, err
		}
		branches = append(branches, match)
	}
	if len(branches) == 1 {
		return branches[0].(bson.D), nil
	}
	return bson.D{{Key: "$or", Value: branches}}, nil
}

// elementMatch returns {array: {$elemMatch: {p: param, ...}}} for one value.
func (c *compiler) elementMatch(cl storage.Clause, v storage.Value) (bson.D, error) {
	var array string
	var cond bson.D
	var err error
	switch cl.Type {
	case storage.TypeDate:
		array = "dt"
		cond, err = dateCond("lo", "hi", v, c.now, microsValue)
	case storage.TypeNumber:
		array = "nm"
		cond, err = numberCond("n", v)
	case storage.TypeQuantity:
		array = "nm"
		cond, err = quantityCond("", v)
	case storage.TypeComposite:
		array = "cp"
		cond, err = c.compositeCond(cl, v)
	}
	if err != nil {
		return nil, fmt.Errorf("mongo: search parameter %s: %w", cl.Param, err)
	}
	if cl.Modifier != "" && cl.Modifier != "not" {
		return nil, unsupportedModifier(cl)
	}
	elem := append(bson.D{{Key: "p", Value: cl.Param}}, cond...)
	return bson.D{{Key: array, Value: bson.D{{Key: "$elemMatch", Value: elem}}}}, nil
}

// compositeCond returns the conditions on the components of one group,
// under their fields v0, v1, ...
func (c *compiler) compositeCond(cl storage.Clause, v storage.Value) (bson.D, error) {
	if len(v.Components) == 0 {
		return nil, fmt.Errorf("composite value without components")
	}
	if len(v.Components) > maxComponents {
		return nil, fmt.Errorf("composite value has %d components, more than %d", len(v.Components), maxComponents)
	}
	var parts bson.A
	for i, comp := range v.Components {
		cond, err := c.componentCond(componentField(i)+".", componentType(comp), comp)
		if err != nil {
			return nil, fmt.Errorf("component %d: %w", i, err)
		}
		parts = append(parts, cond)
	}
	// $and keeps the components' own $or apart.
	return bson.D{{Key: "$and", Value: parts}}, nil
}

// componentCond returns the condition on one component whose fields start
// with prefix.
func (c *compiler) componentCond(prefix string, t storage.ParamType, v storage.Value) (bson.D, error) {
	switch t {
	case storage.TypeToken:
		switch {
		case v.AnySystem:
			return bson.D{{Key: prefix + "c", Value: v.Code}}, nil
		case v.Code == "":
			if v.System == "" {
				return nil, fmt.Errorf("token value has neither system nor code")
			}
			return bson.D{{Key: prefix + "s", Value: v.System}}, nil
		}
		return bson.D{{Key: prefix + "c", Value: v.Code}, {Key: prefix + "s", Value: v.System}}, nil

	case storage.TypeString:
		return bson.D{{Key: prefix + "x", Value: prefixRegex(v.Text)}}, nil

	case storage.TypeReference:
		switch {
		case v.Text != "":
			url, version := splitCanonical(v)
			cond := bson.D{{Key: prefix + "u", Value: url}}
			if version != "" {
				cond = append(cond, bson.E{Key: prefix + "v", Value: version})
			}
			return cond, nil
		case v.RefID != "":
			cond := bson.D{{Key: prefix + "i", Value: v.RefID}}
			if v.RefType != "" {
				cond = append(cond, bson.E{Key: prefix + "t", Value: v.RefType})
			}
			if v.RefVersion != "" {
				cond = append(cond, bson.E{Key: prefix + "v", Value: v.RefVersion})
			}
			return cond, nil
		}
		return nil, fmt.Errorf("reference value has neither an id nor a URL")

	case storage.TypeDate:
		return dateCond(prefix+"lo", prefix+"hi", v, c.now, microsValue)
	case storage.TypeNumber:
		return numberCond(prefix+"n", v)
	case storage.TypeQuantity:
		return quantityCond(prefix, v)
	case storage.TypeURI:
		return bson.D{{Key: prefix + "u", Value: v.Text}}, nil
	}
	return nil, fmt.Errorf("component type %q is not a value type", t)
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

// lastUpdatedClause compares the lastUpdated field, a BSON date, as a date
// entry whose range is the single millisecond it names.
func (c *compiler) lastUpdatedClause(cl storage.Clause) (bson.D, error) {
	var branches bson.A
	for _, v := range cl.Values {
		cond, err := dateCond("lastUpdated", "lastUpdated", v, c.now, millisDate)
		if err != nil {
			return nil, fmt.Errorf("mongo: search parameter _lastUpdated: %w", err)
		}
		branches = append(branches, cond)
	}
	if len(branches) == 1 {
		return branches[0].(bson.D), nil
	}
	return bson.D{{Key: "$or", Value: branches}}, nil
}

// chainClause matches references through cl.Param to the current
// resources that match the chained filter. The targets are found first,
// so the clause becomes a $in over their reference keys.
func (c *compiler) chainClause(ctx context.Context, cl storage.Clause) (bson.D, error) {
	targets := cl.Chain.TargetTypes
	if cl.TargetType != "" {
		targets = []string{cl.TargetType}
	}
	refs, err := c.linkedTargets(ctx, targets, cl.Chain.Filter, "chain "+cl.Param)
	if err != nil {
		return nil, err
	}
	if len(refs) == 0 {
		return matchNothing, nil
	}
	keys := make(bson.A, 0, len(refs))
	for _, ref := range refs {
		keys = append(keys, key(kindRef, cl.Param, ref.ID, ref.Type))
	}
	return bson.D{{Key: "k", Value: bson.D{{Key: "$in", Value: keys}}}}, nil
}

// linkedTargets returns the current resources of types that match filter,
// at most the MaxLinked limit of them. step names the chain in errors.
func (c *compiler) linkedTargets(ctx context.Context, types []string, filter []storage.Clause, step string) ([]storage.Ref, error) {
	match, err := c.scope(ctx, types, filter)
	if err != nil {
		return nil, err
	}
	limit := c.store.limits.MaxLinked
	cur, err := c.store.resources.Find(ctx, match, options.Find().
		SetProjection(bson.D{{Key: "type", Value: 1}, {Key: "id", Value: 1}}).
		SetLimit(int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("mongo: search: %s: %w", step, err)
	}
	var refs []struct {
		Type string `bson:"type"`
		ID   string `bson:"id"`
	}
	if err := cur.All(ctx, &refs); err != nil {
		return nil, fmt.Errorf("mongo: search: %s: %w", step, err)
	}
	if len(refs) > limit {
		return nil, fmt.Errorf("mongo: search: %s matches more than %d resources: %w", step, limit, storage.ErrTooCostly)
	}
	out := make([]storage.Ref, len(refs))
	for i, r := range refs {
		out[i] = storage.Ref{Type: r.Type, ID: r.ID}
	}
	return out, nil
}

// hasClause matches the resources that a resource of h.Type, matching
// h.Filter, refers to through h.Param. The referring resources are found
// first and their reference keys name the targets.
func (c *compiler) hasClause(ctx context.Context, h *storage.Has) (bson.D, error) {
	step := "_has:" + h.Type + ":" + h.Param
	match, err := c.scope(ctx, []string{h.Type}, h.Filter)
	if err != nil {
		return nil, err
	}
	refPrefix := keyPrefix(kindRef, h.Param)
	match = bson.D{{Key: "$and", Value: bson.A{match, bson.D{{Key: "k", Value: prefixRegex(refPrefix)}}}}}

	limit := c.store.limits.MaxLinked
	cur, err := c.store.resources.Find(ctx, match, options.Find().
		SetProjection(bson.D{{Key: "k", Value: 1}}).
		SetLimit(int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("mongo: search: %s: %w", step, err)
	}
	var referrers []struct {
		Keys []string `bson:"k"`
	}
	if err := cur.All(ctx, &referrers); err != nil {
		return nil, fmt.Errorf("mongo: search: %s: %w", step, err)
	}
	if len(referrers) > limit {
		return nil, fmt.Errorf("mongo: search: %s matches more than %d resources: %w", step, limit, storage.ErrTooCostly)
	}

	seen := map[string]bool{}
	targets := bson.A{}
	for _, r := range referrers {
		for _, k := range r.Keys {
			rest, ok := strings.CutPrefix(k, refPrefix)
			if !ok {
				continue
			}
			// The fields after the parameter are the id and the type. A
			// reference without a type names no resource.
			fields := splitFields(rest)
			if len(fields) != 2 || fields[1] == "" {
				continue
			}
			target := resourceKey(fields[1], fields[0])
			if !seen[target] {
				seen[target] = true
				targets = append(targets, target)
			}
		}
	}
	if len(targets) == 0 {
		return matchNothing, nil
	}
	return bson.D{{Key: "_id", Value: bson.D{{Key: "$in", Value: targets}}}}, nil
}

// splitFields splits the escaped fields of a key, undoing escapeField.
func splitFields(s string) []string {
	var fields []string
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == keyEscape && i+1 < len(s):
			i++
			b.WriteByte(s[i])
		case s[i] == keySep:
			fields = append(fields, b.String())
			b.Reset()
		default:
			b.WriteByte(s[i])
		}
	}
	return append(fields, b.String())
}

func unsupportedModifier(cl storage.Clause) error {
	return fmt.Errorf("mongo: modifier :%s on %s parameter %s is not supported", cl.Modifier, cl.Type, cl.Param)
}
