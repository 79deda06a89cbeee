package fhirpath

import (
	"fmt"
	"strings"

	"github.com/ward-fhir/ward/fhir/definitions"
)

// --- tree navigation ---

var treeFunctions = map[string]*function{
	"children": {impl: func(_ *evalContext, _ *callExpr, input, _ Collection) (Collection, error) {
		var out Collection
		for _, n := range input {
			out = n.children(out)
		}
		return out, nil
	}},
	"descendants": {impl: func(_ *evalContext, _ *callExpr, input, _ Collection) (Collection, error) {
		var out Collection
		for _, n := range input {
			out = appendDescendants(out, n, 0)
		}
		return out, nil
	}},
}

// maxTreeDepth bounds descendants() on malicious or cyclic data; FHIR
// resources in practice nest far less deeply.
const maxTreeDepth = 100

func appendDescendants(out Collection, n Node, depth int) Collection {
	if depth > maxTreeDepth {
		return out
	}
	start := len(out)
	out = n.children(out)
	end := len(out)
	for i := start; i < end; i++ {
		out = appendDescendants(out, out[i], depth+1)
	}
	return out
}

// --- utility ---

var utilityFunctions = map[string]*function{
	"not": {impl: func(_ *evalContext, call *callExpr, input, _ Collection) (Collection, error) {
		b, ok, err := singletonBoolean(call, input)
		if err != nil || !ok {
			return nil, err
		}
		return boolResult(!b), nil
	}},
	"trace": {minArgs: 1, maxArgs: 2, impl: func(c *evalContext, call *callExpr, input, focus Collection) (Collection, error) {
		name, _, err := stringArg(c, call, 0, focus)
		if err != nil {
			return nil, err
		}
		if c.opts.tracer == nil {
			return input, nil
		}
		values := input
		if len(call.args) == 2 {
			values = nil
			err := c.forEach(call.args[1], input, func(_ int, _ Node, r Collection) (bool, error) {
				values = append(values, r...)
				return false, nil
			})
			if err != nil {
				return nil, err
			}
		}
		c.opts.tracer(name, values)
		return input, nil
	}},
	"now": {impl: func(c *evalContext, _ *callExpr, _, _ Collection) (Collection, error) {
		return Collection{newSystem(dateTimeFromTime(c.currentTime()))}, nil
	}},
	"today": {impl: func(c *evalContext, _ *callExpr, _, _ Collection) (Collection, error) {
		return Collection{newSystem(dateTimeFromTime(c.currentTime()).Date())}, nil
	}},
	"timeOfDay": {impl: func(c *evalContext, _ *callExpr, _, _ Collection) (Collection, error) {
		dt := dateTimeFromTime(c.currentTime())
		return Collection{newSystem(Time{Hour: dt.Hour, Minute: dt.Minute, Second: dt.Second, Nanosecond: dt.Nanosecond, Precision: PrecisionMillisecond})}, nil
	}},
	"aggregate": {minArgs: 1, maxArgs: 2, impl: func(c *evalContext, call *callExpr, input, focus Collection) (Collection, error) {
		var total Collection
		if len(call.args) == 2 {
			init, err := c.arg(call, 1, focus)
			if err != nil {
				return nil, err
			}
			total = init
		}
		savedTotal, savedHas := c.total, c.hasTotal
		defer func() { c.total, c.hasTotal = savedTotal, savedHas }()
		c.hasTotal = true
		c.total = total
		err := c.forEach(call.args[0], input, func(_ int, _ Node, r Collection) (bool, error) {
			c.total = r
			return false, nil
		})
		return c.total, err
	}},
}

// --- types ---

// typeInfoType is the type of the values type() returns, whose namespace
// and name members are Strings.
const typeInfoType = "System.SimpleTypeInfo"

var typeFunctions = map[string]*function{
	"is": {minArgs: 1, maxArgs: 1, typeArgument: true, impl: func(_ *evalContext, call *callExpr, input, _ Collection) (Collection, error) {
		n, ok, err := singleInput(call, input)
		if err != nil || !ok {
			return nil, err
		}
		return boolResult(isType(n, call.typeArg)), nil
	}},
	"as": {minArgs: 1, maxArgs: 1, typeArgument: true, impl: func(_ *evalContext, call *callExpr, input, _ Collection) (Collection, error) {
		n, ok, err := singleInput(call, input)
		if err != nil || !ok {
			return nil, err
		}
		if asType(n, call.typeArg) {
			return input, nil
		}
		return nil, nil
	}},
	"type": {impl: func(_ *evalContext, _ *callExpr, input, _ Collection) (Collection, error) {
		out := make(Collection, 0, len(input))
		for _, n := range input {
			ns, name := "FHIR", n.typ
			if rest, ok := strings.CutPrefix(n.typ, "System."); ok {
				ns, name = "System", rest
			} else if name == "" {
				name = inferredType(n)
			}
			info := map[string]any{"namespace": ns, "name": name}
			out = append(out, Node{value: info, typ: typeInfoType})
		}
		return out, nil
	}},
}

// --- FHIR additions ---

var fhirFunctions = map[string]*function{
	"extension": {minArgs: 1, maxArgs: 1, impl: func(c *evalContext, call *callExpr, input, focus Collection) (Collection, error) {
		url, ok, err := stringArg(c, call, 0, focus)
		if err != nil || !ok {
			return nil, err
		}
		var out Collection
		for _, n := range input {
			var ext any
			if m, isMap := n.value.(map[string]any); isMap {
				ext = m["extension"]
			} else if n.ext != nil {
				ext = n.ext["extension"]
			}
			list, _ := ext.([]any)
			for _, e := range list {
				if m, isMap := e.(map[string]any); isMap && m["url"] == url {
					out = append(out, Node{value: m, typ: "Extension", path: "Extension"})
				}
			}
		}
		return out, nil
	}},
	"hasValue": {impl: func(_ *evalContext, _ *callExpr, input, _ Collection) (Collection, error) {
		if len(input) != 1 {
			return falseCollection, nil
		}
		_, isMap := input[0].value.(map[string]any)
		return boolResult(input[0].value != nil && !isMap), nil
	}},
	"getValue": {impl: func(_ *evalContext, _ *callExpr, input, _ Collection) (Collection, error) {
		if len(input) != 1 {
			return nil, nil
		}
		v, ok := input[0].systemValue()
		if _, isMap := input[0].value.(map[string]any); !ok || isMap {
			return nil, nil
		}
		return Collection{newSystem(v)}, nil
	}},
	"resolve": {impl: resolve},
	"htmlChecks": {impl: func(_ *evalContext, _ *callExpr, input, _ Collection) (Collection, error) {
		// NOTE: narrative is not checked against the XHTML rules of FHIR;
		// every div passes.
		return boolResult(len(input) > 0), nil
	}},
	"memberOf":          {minArgs: 1, maxArgs: 1, impl: unsupported},
	"subsumes":          {minArgs: 1, maxArgs: 1, impl: unsupported},
	"subsumedBy":        {minArgs: 1, maxArgs: 1, impl: unsupported},
	"conformsTo":        {minArgs: 1, maxArgs: 1, impl: conformsTo},
	"elementDefinition": {impl: unsupported},
	"slice":             {minArgs: 2, maxArgs: 2, impl: unsupported},
	"checkModifiers":    {minArgs: 1, maxArgs: 1, impl: unsupported},
}

func unsupported(_ *evalContext, call *callExpr, _, _ Collection) (Collection, error) {
	return nil, &EvalError{Expr: call.String(), Msg: fmt.Sprintf("%s() is %v: it needs a terminology server or profile registry", call.name, ErrUnsupported)}
}

// resolve finds the resources that references point to: contained
// resources by "#id", entries of the Bundle being evaluated by fullUrl or
// by type and id, and otherwise whatever the resolver option returns.
// When none of these finds the target but the reference names its type
// ("Patient/123", an absolute URL ending so, or Reference.type), the
// result is a placeholder resource with only resourceType and id, so that
// the "resolve() is Patient" test of search expressions works without
// fetching anything.
func resolve(c *evalContext, _ *callExpr, input, _ Collection) (Collection, error) {
	var out Collection
	for _, n := range input {
		var ref, refType string
		switch v := n.value.(type) {
		case map[string]any:
			ref, _ = v["reference"].(string)
			refType, _ = v["type"].(string)
		case string:
			ref = v
		}
		if ref == "" {
			continue
		}
		if m := c.resolveReference(ref); m != nil {
			out = append(out, resourceNode(m))
			continue
		}
		if m := placeholderResource(ref, refType); m != nil {
			out = append(out, resourceNode(m))
		}
	}
	return out, nil
}

// placeholderResource returns {resourceType, id} for a reference whose
// type is known from its text or from Reference.type.
func placeholderResource(ref, refType string) map[string]any {
	path := ref
	if i := strings.Index(path, "/_history/"); i >= 0 {
		path = path[:i]
	}
	parts := strings.Split(path, "/")
	if len(parts) >= 2 {
		typ, id := parts[len(parts)-2], parts[len(parts)-1]
		if definitions.IsResourceType(typ) && id != "" {
			return map[string]any{"resourceType": typ, "id": id}
		}
	}
	if refType != "" && definitions.IsResourceType(refType) {
		return map[string]any{"resourceType": refType}
	}
	return nil
}

func (c *evalContext) resolveReference(ref string) map[string]any {
	var root map[string]any
	if len(c.resource) == 1 {
		root, _ = c.resource[0].value.(map[string]any)
	}
	if root != nil {
		if id, ok := strings.CutPrefix(ref, "#"); ok {
			if id == "" {
				return root
			}
			if m := findContained(root, id); m != nil || root["resourceType"] != "Bundle" {
				return m
			}
			// NOTE: nodes do not know which entry they came from, so inside a
			// Bundle "#id" resolves to the first entry's contained resource
			// with that id, even if another entry holds the reference.
			for _, res := range bundleEntryResources(root) {
				if m := findContained(res, id); m != nil {
					return m
				}
			}
			return nil
		}
		if root["resourceType"] == "Bundle" {
			if m := findInBundle(root, ref); m != nil {
				return m
			}
		}
	}
	if c.opts.resolver != nil {
		return c.opts.resolver(ref)
	}
	return nil
}

func findContained(root map[string]any, id string) map[string]any {
	list, _ := root["contained"].([]any)
	for _, item := range list {
		if m, ok := item.(map[string]any); ok && m["id"] == id {
			return m
		}
	}
	return nil
}

func bundleEntryResources(bundle map[string]any) []map[string]any {
	entries, _ := bundle["entry"].([]any)
	out := make([]map[string]any, 0, len(entries))
	for _, e := range entries {
		entry, _ := e.(map[string]any)
		if res, ok := entry["resource"].(map[string]any); ok {
			out = append(out, res)
		}
	}
	return out
}

func findInBundle(bundle map[string]any, ref string) map[string]any {
	entries, _ := bundle["entry"].([]any)
	for _, e := range entries {
		entry, _ := e.(map[string]any)
		res, _ := entry["resource"].(map[string]any)
		if res == nil {
			continue
		}
		if fullURL, _ := entry["fullUrl"].(string); fullURL != "" && fullURL == ref {
			return res
		}
		rt, _ := res["resourceType"].(string)
		id, _ := res["id"].(string)
		if rt != "" && id != "" && (ref == rt+"/"+id || strings.HasSuffix(ref, "/"+rt+"/"+id)) {
			return res
		}
	}
	return nil
}

// baseProfilePrefix starts the canonical URL of each core R4 type's
// StructureDefinition.
const baseProfilePrefix = "http://hl7.org/fhir/StructureDefinition/"

// conformsTo checks conformance to the StructureDefinition of a core
// type, which holds exactly when the item is of that type. Other profiles
// need a profile registry and report an error.
func conformsTo(c *evalContext, call *callExpr, input, focus Collection) (Collection, error) {
	url, ok, err := stringArg(c, call, 0, focus)
	if err != nil || !ok {
		return nil, err
	}
	typ, isCore := strings.CutPrefix(url, baseProfilePrefix)
	if !isCore || !isKnownFHIRType(typ) {
		return nil, &EvalError{Expr: call.String(), Msg: fmt.Sprintf("conformsTo(%q) is %v: only the core R4 StructureDefinitions are known", url, ErrUnsupported)}
	}
	n, ok, err := singleInput(call, input)
	if err != nil || !ok {
		return nil, err
	}
	return boolResult(isSubtypeOf(n.typ, typ)), nil
}
