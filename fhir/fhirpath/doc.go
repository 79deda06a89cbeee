// Package fhirpath evaluates FHIRPath expressions (the normative release,
// http://hl7.org/fhirpath/N1/, with the FHIR R4 additions) over FHIR R4
// resources decoded from JSON. Ward uses it for search index extraction,
// invariants and FHIRPath Patch.
//
// # Compile once, evaluate many times
//
// Compile parses an expression into an *Expression, which keeps no state
// between evaluations and may be shared by any number of goroutines.
// Evaluate runs it on one resource:
//
//	expr := fhirpath.MustCompile("Observation.value.ofType(Quantity)")
//	values, err := expr.Evaluate(observation)
//
// A parse failure is a *SyntaxError with the byte offset and text of the
// offending token. Unknown functions, wrong argument counts and unknown
// type names are syntax errors too. A path whose type is certain and that
// names an element the type lacks (Patient.name.given1, or
// Observation.valueQuantity, which FHIRPath names value) is a
// *SemanticError, found when compiling or on the first evaluation per
// resource type. Failures while evaluating are *EvalError: a function
// that needs one item and gets several, operands whose types an operator
// does not accept, an undefined %variable. Results that the specification
// defines as empty (division by zero, dates compared at different
// precisions, integer overflow) are empty, not errors.
//
// # Data model
//
// Resources are JSON decoded by encoding/json with Decoder.UseNumber into
// map[string]any, []any, string, json.Number and bool. The engine does
// not copy them. Each item of a result is a Node that carries:
//
//   - the value: the decoded JSON for resource elements, or a computed
//     value for literals and function results;
//   - the FHIR type name from the R4 definitions (package
//     fhir/definitions): "HumanName", "date", "Quantity", or the
//     resource type; computed values carry a System type such as
//     "System.Integer";
//   - the definition path it was reached by, such as
//     "Patient.name.given" or "Observation.value";
//   - for primitives, the "_name" sibling that FHIR JSON uses for the
//     primitive's id and extensions, matched by index inside arrays, so
//     birthDate.extension(url) and given.extension(url) work. A primitive
//     that has only extensions is a Node whose Value is nil.
//
// Node.Value converts primitives to Go values: string, bool, int64,
// *Decimal (which keeps the written precision, so 1.0 and 1 print
// differently but compare equal), Date, DateTime and Time (with their
// precision and zone), and Quantity. Complex elements stay
// map[string]any; Node.Quantity reads a FHIR Quantity (or Age, Duration,
// ...) as a Quantity. DateTime.Range and Date.Range give the UTC instants
// that a partial value covers, for date search.
//
// Choice elements are found under their typed JSON keys (valueQuantity)
// and named by their FHIRPath name (value) with the type of the key.
// Elements typed Resource (contained, Bundle.entry.resource) are typed by
// their resourceType.
//
// # Environment
//
// %resource, %rootResource and %context are the evaluated resource (or,
// with WithContext, %context is the given node). %ucum, %sct, %loinc,
// %`vs-name` and %`ext-name` are the fixed URLs of FHIR. WithVariable
// adds more, WithNow fixes now(), today() and timeOfDay(), WithTrace
// receives trace() output, and WithResolver supplies resources that
// resolve() cannot find inside the resource.
//
// resolve() looks for "#id" among the contained resources and, when the
// evaluated resource is a Bundle, for entries by fullUrl or type and id.
// If neither finds the target and the resolver option returns nothing,
// a reference that names its type ("Patient/1", an absolute URL ending
// so, or Reference.type) resolves to a placeholder resource with only
// resourceType and id, so that the "resolve() is Patient" test of search
// expressions works without fetching anything.
//
// # Quantities
//
// Quantities compare and convert through UCUM for the common units:
// metric prefixes on SI and clinical base units (g, m, L, mol, eq, s,
// Pa, ...), products, quotients, integer exponents and ten-powers
// ("mg/dL", "10*3/uL", "m2"), annotations, mm[Hg], and the US customary
// length, mass and volume units. Special units with an offset (Cel,
// [degF]) and logarithmic units are not converted: quantities in them
// compare only with the same unit. Calendar durations (1 year, 2 weeks)
// equal their UCUM counterparts from week down to millisecond; year and
// month do not equal 'a' and 'mo', as FHIRPath requires.
//
// # Not supported
//
//   - memberOf(), subsumes(), subsumedBy(): they need a terminology
//     server and return an *EvalError wrapping ErrUnsupported.
//   - conformsTo() only knows the core R4 StructureDefinitions; other
//     profiles, elementDefinition(), slice() and checkModifiers() return
//     ErrUnsupported.
//   - htmlChecks() does not check the narrative and returns true.
//   - Regular expressions use Go's RE2 syntax, which lacks look-around
//     and back-references.
//   - Dates and times without a zone are not ordered against ones with a
//     zone (the result is empty), and Range reads a value without a zone
//     as UTC.
//   - The suite's mode that treats children() as unordered is not
//     implemented; children() returns elements in definition order.
//   - Of FHIRPath 2.1, only the functions that Ward needs are here:
//     lowBoundary(), highBoundary(), precision(), comparable(), sort(),
//     trim(), split(), join(), encode(), decode(), escape(), unescape(),
//     lastIndexOf() and matchesFull(). Long integers parse as Integer.
package fhirpath
