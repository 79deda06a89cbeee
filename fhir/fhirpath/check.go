package fhirpath

import (
	"fmt"
	"sync"
)

// The static check reports names that cannot match anything because the
// type they are applied to is certain and does not define them, such as
// Patient.name.given1 or Observation.valueQuantity (FHIRPath names the
// choice element value). The specification calls these semantic errors.
// Where a type is not certain (after children(), resolve(), or on a
// Resource-typed element) the check stops and evaluation decides.

// staticType is a type the check follows: the type name and, for
// backbone elements, the path their children are defined at.
type staticType struct {
	typ, path string
}

// checkCache remembers the outcome of the check for each root type.
type checkCache struct {
	byRoot sync.Map // root resource type -> checkResult
}

type checkResult struct{ err error }

func (e *Expression) checkRoot(rootType string) error {
	if v, ok := e.checks.byRoot.Load(rootType); ok {
		return v.(checkResult).err
	}
	_, err := inferTypes(e.root, []staticType{{rootType, rootType}}, rootType)
	e.checks.byRoot.Store(rootType, checkResult{err})
	return err
}

// checkPaths runs the check without a known root, which still covers
// paths that start with a type name.
func checkPaths(root expr) error {
	_, err := inferTypes(root, nil, "")
	return err
}

// Functions whose result has the types of their input.
var typePreservingFunctions = map[string]bool{
	"where": true, "first": true, "last": true, "single": true, "tail": true, "skip": true,
	"take": true, "distinct": true, "intersect": true, "exclude": true, "trace": true, "sort": true,
}

// Functions whose arguments are evaluated per input item.
var perItemFunctions = map[string]bool{
	"where": true, "select": true, "all": true, "exists": true, "repeat": true,
	"aggregate": true, "sort": true, "trace": true,
}

// inferTypes returns the possible types of e's result given the focus
// types, or nil when they are not certain, and reports names that no
// possible type defines.
func inferTypes(e expr, focus []staticType, rootType string) ([]staticType, error) {
	switch x := e.(type) {
	case thisExpr:
		return focus, nil
	case *variableExpr:
		if rootType != "" && (x.name == "resource" || x.name == "rootResource" || x.name == "context") {
			return []staticType{{rootType, rootType}}, nil
		}
		return nil, nil
	case *memberExpr:
		return inferMember(x, focus, rootType)
	case *callExpr:
		return inferCall(x, focus, rootType)
	case *typeExpr:
		if _, err := inferTypes(x.target, focus, rootType); err != nil {
			return nil, err
		}
		if x.op == "as" {
			return specType(x.spec), nil
		}
		return nil, nil
	case *indexerExpr:
		if _, err := inferTypes(x.index, focus, rootType); err != nil {
			return nil, err
		}
		return inferTypes(x.target, focus, rootType)
	case *unaryExpr:
		_, err := inferTypes(x.operand, focus, rootType)
		return nil, err
	case *binaryExpr:
		left, err := inferTypes(x.left, focus, rootType)
		if err != nil {
			return nil, err
		}
		right, err := inferTypes(x.right, focus, rootType)
		if err != nil {
			return nil, err
		}
		if x.op == "|" && left != nil && right != nil {
			return append(append([]staticType{}, left...), right...), nil
		}
		return nil, nil
	}
	return nil, nil
}

func specType(spec typeSpec) []staticType {
	if spec.namespace == "System" || !isKnownFHIRType(spec.name) {
		return nil
	}
	return []staticType{{spec.name, spec.name}}
}

func inferMember(x *memberExpr, focus []staticType, rootType string) ([]staticType, error) {
	input := focus
	if x.target != nil {
		var err error
		input, err = inferTypes(x.target, focus, rootType)
		if err != nil {
			return nil, err
		}
	} else if x.name[0] >= 'A' && x.name[0] <= 'Z' {
		if isKnownFHIRType(x.name) {
			return []staticType{{x.name, x.name}}, nil
		}
		return nil, nil
	}
	if input == nil {
		return nil, nil
	}

	var out []staticType
	found := false
	for _, t := range input {
		if isPrimitiveFHIRType(t.typ) {
			switch x.name {
			case "extension":
				found = true
				out = append(out, staticType{"Extension", "Extension"})
			case "id":
				found = true
				out = append(out, staticType{"string", "Element.id"})
			}
			continue
		}
		ti := lookupTypeInfo(childBase(t.typ, t.path))
		if ti == nil || t.typ == "Resource" || t.typ == "DomainResource" {
			return nil, nil
		}
		el := ti.byName[x.name]
		if el == nil {
			continue
		}
		found = true
		if el.choices != nil {
			for _, c := range el.choices {
				out = append(out, staticType{c.typ, el.path})
			}
			continue
		}
		if el.typ == "Resource" || el.typ == "" {
			return nil, nil
		}
		out = append(out, staticType{el.typ, el.path})
	}
	if !found {
		return nil, &SemanticError{Expr: x.String(), Msg: fmt.Sprintf("%s has no element named %q", input[0].typ, x.name)}
	}
	return out, nil
}

func inferCall(x *callExpr, focus []staticType, rootType string) ([]staticType, error) {
	input := focus
	if x.target != nil {
		var err error
		input, err = inferTypes(x.target, focus, rootType)
		if err != nil {
			return nil, err
		}
	}
	argFocus := focus
	if perItemFunctions[x.name] || (x.name == "iif" && x.target != nil) {
		argFocus = input
	}
	var selected []staticType
	for i, a := range x.args {
		if x.fn.typeArgument {
			break
		}
		t, err := inferTypes(a, argFocus, rootType)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			selected = t
		}
	}

	switch {
	case typePreservingFunctions[x.name]:
		return input, nil
	case x.name == "select":
		return selected, nil
	case x.name == "as" || x.name == "ofType":
		return specType(x.typeArg), nil
	case x.name == "extension":
		return []staticType{{"Extension", "Extension"}}, nil
	}
	return nil, nil
}
