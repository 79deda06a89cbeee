package fhir

import (
	"strconv"
	"strings"
	"sync"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	apb "github.com/google/fhir/go/proto/google/fhir/proto/annotations_go_proto"
	d4pb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/datatypes_go_proto"
	r4pb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/resources/bundle_and_contained_resource_go_proto"

	"github.com/ward-fhir/ward/fhir/definitions"
)

// location is the element that a jsonformat path points at.
//
// jsonformat writes paths in two dialects. Its parser names JSON keys:
// "Observation.valueQuantity.value", "Patient.name[0]._given[1]", and
// "Patient.contained[0].Organization.name" with the contained resource's type
// as a step of its own. Its validator names proto fields: "Observation.value.quantity",
// "Patient.managingOrganization.uri" (a member of Reference's oneof) and
// "Bundle.entry[0].resource.patient.link[0]". locate walks either dialect over
// the R4 proto descriptors, which are the types jsonformat parsed into, and
// over the decoded JSON at the same time.
type location struct {
	// expression is the FHIRPath form: choice elements as
	// "value.ofType(Quantity)", "_x" keys as x, no resource type steps for
	// contained resources, Reference's oneof members as "reference".
	expression string
	// value is the decoded JSON at the path, and found is false when the
	// path does not exist in the JSON.
	value any
	found bool
	// message is the proto type of the element, nil where unknown.
	message protoreflect.MessageDescriptor
	// parent and key are the object and key of the last key step on the
	// path. pruneProblems deletes that key to remove the failing element.
	parent map[string]any
	key    string
	// inReference is true when the path ends in Reference.reference or in
	// a part of it that jsonformat's proto splits out, such as the version
	// in "managingOrganization.organizationId.history".
	inReference bool
}

// fhirPathOfJSONPath translates a path without looking at any value.
func fhirPathOfJSONPath(path string) string {
	return locate(nil, path).expression
}

func locate(root map[string]any, path string) location {
	steps := strings.Split(path, ".")
	message := resourceMessage(steps[0])
	var out []string
	if message != nil {
		out = append(out, string(message.Name()))
	} else {
		out = append(out, steps[0])
	}

	loc := location{value: any(root), found: root != nil}
	expectResourceType := false
	var pendingChoice protoreflect.FieldDescriptor // proto dialect: choice field whose member comes next
	var pendingChoiceObject map[string]any

	for _, step := range steps[1:] {
		if loc.inReference {
			// FHIRPath has no element below Reference.reference.
			break
		}
		name, indexes := splitIndexes(step)

		if expectResourceType {
			// jsonformat writes a nested resource's type as a step of its
			// own, which FHIRPath does not have. Paths from scan.go lack the
			// step, and then the type comes from the resource's resourceType.
			expectResourceType = false
			if m := resourceMessage(name); m != nil {
				message = m
				continue
			}
			if resourceType, ok := loc.objectValue()["resourceType"].(string); ok {
				message = resourceMessage(resourceType)
			}
		}

		if pendingChoice != nil {
			member := pendingChoice.Message().Fields().ByJSONName(name)
			if member != nil {
				typeName := choiceTypeName(member)
				out[len(out)-1] = pendingChoice.JSONName() + ".ofType(" + typeName + ")"
				key := pendingChoice.JSONName() + upperFirst(member.JSONName())
				loc.descend(pendingChoiceObject, key)
				message = member.Message()
				pendingChoice = nil
				continue
			}
			pendingChoice = nil
		}

		bare := strings.TrimPrefix(name, "_")
		var field protoreflect.FieldDescriptor
		if message != nil {
			field = fieldByJSONName(message, bare)
		}

		switch {
		case field != nil && isChoice(field.Message()):
			// Only the proto dialect names a choice field without its type.
			out = append(out, bare)
			pendingChoice = field
			pendingChoiceObject, _ = loc.value.(map[string]any)
			message = nil
			continue

		case field != nil && isReferenceOneofMember(message, field):
			out = append(out, "reference")
			loc.descend(loc.objectValue(), "reference")
			loc.inReference = true
			message = nil
			continue

		case field != nil:
			out = append(out, bare+indexSuffix(indexes))
			loc.descend(loc.objectValue(), name)
			message = field.Message()

		default:
			choiceField, member := splitChoiceKey(message, bare)
			if member != nil {
				out = append(out, choiceField.JSONName()+".ofType("+choiceTypeName(member)+")")
				loc.descend(loc.objectValue(), name)
				message = member.Message()
				break
			}
			out = append(out, bare+indexSuffix(indexes))
			loc.descend(loc.objectValue(), name)
			message = nil
		}

		for _, index := range indexes {
			loc.index(index)
		}
		if message != nil {
			if message.FullName() == containedResourceName || (message.FullName() == "google.protobuf.Any" && bare == "contained") {
				expectResourceType = true
			}
		}
	}

	loc.expression = strings.Join(out, ".")
	loc.message = message
	return loc
}

func (l *location) objectValue() map[string]any {
	object, _ := l.value.(map[string]any)
	return object
}

// descend moves to key in object, remembering it as the nearest key.
func (l *location) descend(object map[string]any, key string) {
	l.parent, l.key = object, key
	if object == nil {
		l.value, l.found = nil, false
		return
	}
	l.value, l.found = object[key]
}

func (l *location) index(i int) {
	list, ok := l.value.([]any)
	if !ok || i < 0 || i >= len(list) {
		l.value, l.found = nil, false
		return
	}
	l.value = list[i]
}

// splitIndexes splits "given[1]" into "given" and [1].
func splitIndexes(step string) (string, []int) {
	open := strings.IndexByte(step, '[')
	if open < 0 || !strings.HasSuffix(step, "]") {
		return step, nil
	}
	var indexes []int
	for _, part := range strings.Split(strings.TrimSuffix(step[open+1:], "]"), "][") {
		n, err := strconv.Atoi(part)
		if err != nil {
			return step, nil
		}
		indexes = append(indexes, n)
	}
	return step[:open], indexes
}

func indexSuffix(indexes []int) string {
	var b strings.Builder
	for _, i := range indexes {
		b.WriteString("[" + strconv.Itoa(i) + "]")
	}
	return b.String()
}

const containedResourceName = "google.fhir.r4.core.ContainedResource"

var resourceMessages = sync.OnceValue(func() map[string]protoreflect.MessageDescriptor {
	messages := map[string]protoreflect.MessageDescriptor{}
	oneof := (&r4pb.ContainedResource{}).ProtoReflect().Descriptor().Oneofs().ByName("oneof_resource")
	for i := 0; i < oneof.Fields().Len(); i++ {
		m := oneof.Fields().Get(i).Message()
		messages[string(m.Name())] = m
	}
	return messages
})

// resourceMessage returns the R4 proto type of a resource, accepting the
// lower-case first letter that jsonformat's validator paths use.
func resourceMessage(name string) protoreflect.MessageDescriptor {
	return resourceMessages()[upperFirst(name)]
}

// fieldByJSONName finds a field by its JSON name. jsonformat also accepts a
// key with an upper-case first letter, so such a key is looked up too.
func fieldByJSONName(message protoreflect.MessageDescriptor, name string) protoreflect.FieldDescriptor {
	if f := message.Fields().ByJSONName(name); f != nil {
		return f
	}
	return message.Fields().ByJSONName(lowerFirst(name))
}

func isChoice(message protoreflect.MessageDescriptor) bool {
	if message == nil {
		return false
	}
	return proto.GetExtension(message.Options(), apb.E_IsChoiceType).(bool)
}

var referenceName = (&d4pb.Reference{}).ProtoReflect().Descriptor().FullName()

func isReferenceOneofMember(message protoreflect.MessageDescriptor, field protoreflect.FieldDescriptor) bool {
	return message.FullName() == referenceName && field.ContainingOneof() != nil
}

// splitChoiceKey resolves a JSON key such as "valueQuantity" to its choice
// field (value) and the member for the type (quantity).
func splitChoiceKey(message protoreflect.MessageDescriptor, key string) (protoreflect.FieldDescriptor, protoreflect.FieldDescriptor) {
	if message == nil {
		return nil, nil
	}
	fields := message.Fields()
	for i := 0; i < fields.Len(); i++ {
		f := fields.Get(i)
		prefix := f.JSONName()
		if !isChoice(f.Message()) || len(key) <= len(prefix) || !strings.HasPrefix(lowerFirst(key), prefix) {
			continue
		}
		if member := f.Message().Fields().ByJSONName(lowerFirst(key[len(prefix):])); member != nil {
			return f, member
		}
	}
	return nil, nil
}

// choiceTypeName returns the FHIR type code of a choice member: "string"
// for a primitive, "Quantity" for a complex type.
func choiceTypeName(member protoreflect.FieldDescriptor) string {
	name := upperFirst(member.JSONName())
	if definitions.IsPrimitiveType(lowerFirst(name)) {
		return lowerFirst(name)
	}
	return name
}

// primitiveTypeName returns the FHIR primitive type code of a proto message,
// "code" for the enum-backed code types, or "" if the message is not a
// primitive.
func primitiveTypeName(message protoreflect.MessageDescriptor) string {
	if message == nil {
		return ""
	}
	if proto.HasExtension(message.Options(), apb.E_FhirValuesetUrl) {
		return "code"
	}
	kind := proto.GetExtension(message.Options(), apb.E_StructureDefinitionKind).(apb.StructureDefinitionKindValue)
	if kind != apb.StructureDefinitionKindValue_KIND_PRIMITIVE_TYPE {
		return ""
	}
	return lowerFirst(string(message.Name()))
}

// valueSetURL returns the required value set of an enum-backed code type.
func valueSetURL(message protoreflect.MessageDescriptor) string {
	if message == nil {
		return ""
	}
	url, _ := proto.GetExtension(message.Options(), apb.E_FhirValuesetUrl).(string)
	return url
}

func upperFirst(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

func lowerFirst(s string) string {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return s
	}
	return string(s[0]-'A'+'a') + s[1:]
}
