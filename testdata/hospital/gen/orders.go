package main

import "fmt"

// result is one laboratory Observation of a panel.
type result struct {
	code, display string
	value         float64
	unit, ucum    string
	low, high     float64 // reference range; both zero means none
	// coded is a SNOMED CT finding reported instead of a quantity, such
	// as an organism found by a culture.
	coded obj
}

// labOrder describes a ServiceRequest with its Specimen, results and
// DiagnosticReport.
type labOrder struct {
	panelCode, panelDisplay string
	specimenCode            string // SNOMED CT specimen type
	specimenDisplay         string
	ordered                 string
	collected               string
	issued                  string // instant, with seconds and zone
	encounter               obj
	requester               string
	reason                  obj
	priority                string // routine, urgent or stat
	results                 []result
	conclusion              string
}

func (c *care) lab(o labOrder) obj {
	orderID := c.nextID("sr")
	specimenID := c.nextID("spec")
	reportID := c.nextID("dr")
	order := c.b.localRef("ServiceRequest/"+orderID, o.panelDisplay)
	specimen := c.b.localRef("Specimen/"+specimenID, o.specimenDisplay)
	report := c.b.localRef("DiagnosticReport/"+reportID, o.panelDisplay)
	lab := c.b.ref(labOrgRef, "Kestrel Bay General Hospital Clinical Laboratory")
	number := fmt.Sprintf("%s-%s", c.p.mrn, orderID[len(orderID)-1:])

	var reasons []obj
	if o.reason != nil {
		reasons = list(o.reason)
	}
	c.b.add("ServiceRequest", orderID,
		field{"identifier", list(obj{
			{"type", concept("http://terminology.hl7.org/CodeSystem/v2-0203", "PLAC", "Placer Identifier")},
			{"system", sidOrder}, {"value", "ORD-" + number}})},
		field{"status", "completed"},
		field{"intent", "order"},
		field{"category", list(concept(sct, "108252007", "Laboratory procedure"))},
		field{"priority", o.priority},
		field{"code", concept(loinc, o.panelCode, o.panelDisplay)},
		field{"subject", c.patient},
		field{"encounter", o.encounter},
		field{"occurrenceDateTime", o.collected},
		field{"authoredOn", o.ordered},
		field{"requester", staffRef(c.b, o.requester)},
		field{"performer", list(lab)},
		field{"reasonReference", reasons},
		field{"insurance", list(c.coverage)},
		field{"specimen", list(specimen)},
	)

	c.b.add("Specimen", specimenID,
		field{"accessionIdentifier", identifier(sidAccession, "ACC-"+number)},
		field{"status", "available"},
		field{"type", concept(sct, o.specimenCode, o.specimenDisplay)},
		field{"subject", c.patient},
		field{"receivedTime", o.collected},
		field{"request", list(order)},
		field{"collection", obj{
			{"collector", staffRef(c.b, "pr-osei")},
			{"collectedDateTime", o.collected},
		}},
	)

	var observations []obj
	for _, r := range o.results {
		id := c.nextID("obs")
		observations = append(observations, c.b.localRef("Observation/"+id, r.display))
		fields := []field{
			{"basedOn", list(order)},
			{"status", "final"},
			{"category", list(concept(obsCategory, "laboratory", "Laboratory"))},
			{"code", concept(loinc, r.code, r.display)},
			{"subject", c.patient},
			{"encounter", o.encounter},
			{"effectiveDateTime", o.collected},
			{"issued", o.issued},
			{"performer", list(lab)},
		}
		if r.coded != nil {
			fields = append(fields, field{"valueCodeableConcept", r.coded})
		} else {
			fields = append(fields, field{"valueQuantity", quantity(r.value, r.unit, r.ucum)})
			fields = append(fields, field{"interpretation", list(interpretation(r))})
		}
		fields = append(fields, field{"specimen", specimen})
		if r.low != 0 || r.high != 0 {
			fields = append(fields, field{"referenceRange", list(obj{
				{"low", quantity(r.low, r.unit, r.ucum)},
				{"high", quantity(r.high, r.unit, r.ucum)},
			})})
		}
		c.b.add("Observation", id, fields...)
	}

	c.b.add("DiagnosticReport", reportID,
		field{"identifier", list(identifier(sidReport, "RPT-"+number))},
		field{"basedOn", list(order)},
		field{"status", "final"},
		field{"category", list(concept("http://terminology.hl7.org/CodeSystem/v2-0074", "LAB", "Laboratory"))},
		field{"code", concept(loinc, o.panelCode, o.panelDisplay)},
		field{"subject", c.patient},
		field{"encounter", o.encounter},
		field{"effectiveDateTime", o.collected},
		field{"issued", o.issued},
		field{"performer", list(lab)},
		field{"resultsInterpreter", list(staffRef(c.b, "pr-whitfield"))},
		field{"specimen", list(specimen)},
		field{"result", observations},
		field{"conclusion", o.conclusion},
	)
	return report
}

// interpretation flags a result against its reference range.
func interpretation(r result) obj {
	switch {
	case r.high != 0 && r.value > r.high:
		return concept(interp, "H", "High")
	case r.value < r.low:
		return concept(interp, "L", "Low")
	}
	return concept(interp, "N", "Normal")
}

// vitalSigns is one set of observations taken at the bedside or in clinic.
type vitalSigns struct {
	at                  string
	encounter           obj
	performer           string
	systolic, diastolic float64
	heartRate           float64
	temperature         float64 // Cel, or 0 when not taken
	weight              float64 // kg, or 0 when not taken
	oxygenSaturation    float64 // %, or 0 when not taken
}

func (c *care) vitals(v vitalSigns) {
	add := func(code, display string, value field, components []obj) {
		id := c.nextID("vs")
		c.b.add("Observation", id,
			field{"status", "final"},
			field{"category", list(concept(obsCategory, "vital-signs", "Vital Signs"))},
			field{"code", concept(loinc, code, display)},
			field{"subject", c.patient},
			field{"encounter", v.encounter},
			field{"effectiveDateTime", v.at},
			field{"performer", list(staffRef(c.b, v.performer))},
			value,
			field{"component", components},
		)
	}
	add("85354-9", "Blood pressure panel with all children optional", field{}, list(
		obj{{"code", concept(loinc, "8480-6", "Systolic blood pressure")}, {"valueQuantity", quantity(v.systolic, "mmHg", "mm[Hg]")}},
		obj{{"code", concept(loinc, "8462-4", "Diastolic blood pressure")}, {"valueQuantity", quantity(v.diastolic, "mmHg", "mm[Hg]")}},
	))
	add("8867-4", "Heart rate", field{"valueQuantity", quantity(v.heartRate, "beats/minute", "/min")}, nil)
	if v.temperature != 0 {
		add("8310-5", "Body temperature", field{"valueQuantity", quantity(v.temperature, "C", "Cel")}, nil)
	}
	if v.weight != 0 {
		add("29463-7", "Body weight", field{"valueQuantity", quantity(v.weight, "kg", "kg")}, nil)
	}
	if v.oxygenSaturation != 0 {
		add("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry",
			field{"valueQuantity", quantity(v.oxygenSaturation, "%", "%")}, nil)
	}
}

// booking describes an Appointment in a schedule's slot.
type booking struct {
	slot         string // Slot id
	status       string // booked or fulfilled
	practitioner string
	location     string
	service      obj
	followUp     bool
	reason       obj
	description  string
	created      string
}

func (c *care) appointment(bk booking) obj {
	var slot slotSpec
	for _, s := range slots {
		if s.id == bk.slot {
			slot = s
		}
	}
	if slot.id == "" || slot.status != "busy" {
		panic("appointment in a slot that is not busy: " + bk.slot)
	}
	id := c.nextID("appt")
	ref := c.b.localRef("Appointment/"+id, bk.description)
	kind := concept("http://terminology.hl7.org/CodeSystem/v2-0276", "ROUTINE", "Routine appointment - default if not valued")
	if bk.followUp {
		kind = concept("http://terminology.hl7.org/CodeSystem/v2-0276", "FOLLOWUP", "A follow up visit from a previous appointment")
	}
	var reasons []obj
	if bk.reason != nil {
		reasons = list(bk.reason)
	}
	c.b.add("Appointment", id,
		field{"status", bk.status},
		field{"serviceType", list(bk.service)},
		field{"appointmentType", kind},
		field{"reasonReference", reasons},
		field{"description", bk.description},
		field{"start", slot.start},
		field{"end", slot.end},
		field{"slot", list(c.b.ref("Slot/"+slot.id, ""))},
		field{"created", bk.created},
		field{"participant", list(
			obj{{"actor", c.patient}, {"required", "required"}, {"status", "accepted"}},
			obj{{"actor", staffRef(c.b, bk.practitioner)}, {"required", "required"}, {"status", "accepted"}},
			obj{{"actor", c.b.ref("Location/"+bk.location, "")}, {"required", "information-only"}, {"status", "accepted"}},
		)},
	)
	return ref
}
