package definitions

import (
	"slices"
	"sort"
	"sync"

	"github.com/ward-fhir/ward/fhir/definitions/internal/format"
)

type typeTable struct {
	byName    map[string]format.Type
	resources []string // concrete resource types, sorted
	abstract  []string // abstract resource types, sorted
	dataTypes []string // primitive and complex types, sorted
}

var loadTypes = sync.OnceValue(func() *typeTable {
	var file format.Types
	mustDecode(format.TypesFile, &file)

	t := &typeTable{byName: make(map[string]format.Type, len(file.Types))}
	for _, typ := range file.Types {
		t.byName[typ.Name] = typ
		if typ.Kind != format.KindResource {
			t.dataTypes = append(t.dataTypes, typ.Name)
			continue
		}
		if typ.Abstract {
			t.abstract = append(t.abstract, typ.Name)
		} else {
			t.resources = append(t.resources, typ.Name)
		}
	}
	sort.Strings(t.resources)
	sort.Strings(t.abstract)
	sort.Strings(t.dataTypes)
	return t
})

// IsResourceType reports whether name is a concrete R4 resource type such as
// Patient or Bundle. It is false for the abstract Resource and
// DomainResource.
func IsResourceType(name string) bool {
	t, ok := loadTypes().byName[name]
	return ok && t.Kind == format.KindResource && !t.Abstract
}

// ResourceTypes returns the concrete R4 resource types, sorted.
func ResourceTypes() []string {
	return slices.Clone(loadTypes().resources)
}

// IsAbstractResourceType reports whether name is Resource or DomainResource.
func IsAbstractResourceType(name string) bool {
	t, ok := loadTypes().byName[name]
	return ok && t.Kind == format.KindResource && t.Abstract
}

// AbstractResourceTypes returns the abstract resource types (DomainResource
// and Resource), sorted.
func AbstractResourceTypes() []string {
	return slices.Clone(loadTypes().abstract)
}

// DataTypes returns the names of all R4 primitive and complex types,
// including Element, BackboneElement, SimpleQuantity and MoneyQuantity,
// sorted.
func DataTypes() []string {
	return slices.Clone(loadTypes().dataTypes)
}

// IsPrimitiveType reports whether code is an R4 primitive type such as
// string, dateTime or xhtml.
func IsPrimitiveType(code string) bool {
	t, ok := loadTypes().byName[code]
	return ok && t.Kind == format.KindPrimitive
}

// IsComplexType reports whether code is an R4 complex data type: HumanName,
// Quantity and the other general types, Element, BackboneElement, and the
// constraint profiles SimpleQuantity and MoneyQuantity.
func IsComplexType(code string) bool {
	t, ok := loadTypes().byName[code]
	return ok && t.Kind == format.KindComplex
}

// BaseType returns the type that name derives from: DomainResource for
// Patient, Resource for DomainResource and Bundle, Element for HumanName,
// Quantity for Duration, Age, SimpleQuantity and MoneyQuantity, and the
// primitive a primitive specialises (string for code). It returns "" for
// the roots Resource and Element and for unknown names.
func BaseType(name string) string {
	return loadTypes().byName[name].Base
}

// IsConstraintProfile reports whether name is a profile that constrains
// another type rather than specialising it (SimpleQuantity and
// MoneyQuantity constrain Quantity). Instances of such a profile carry the
// base type's name, so an element typed SimpleQuantity holds a Quantity.
func IsConstraintProfile(name string) bool {
	return loadTypes().byName[name].Constraint
}
