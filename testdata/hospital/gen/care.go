package main

import "fmt"

// patientSpec is one invented patient and the story of their care.
type patientSpec struct {
	key       string // short unique key in resource ids, such as "hartwell"
	family    string
	given     []string
	gender    string
	birthDate string
	mrn       string
	phone     string
	street    string
	postal    string
	marital   obj
	language  obj
	gp        string // Practitioner id of the general practitioner
	payer     string // Organization reference of the insurer
	memberID  string
	story     func(c *care)
}

// care writes one patient's resources into the patient Bundle.
type care struct {
	b        *bundle
	p        patientSpec
	patient  obj
	coverage obj
	account  obj
	counts   map[string]int
}

func (c *care) nextID(kind string) string {
	c.counts[kind]++
	return fmt.Sprintf("%s-%s-%d", kind, c.p.key, c.counts[kind])
}

func staffRef(b *bundle, id string) obj {
	return b.ref("Practitioner/"+id, practitionerName(id))
}

var (
	married  = concept("http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", "M", "Married")
	single   = concept("http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", "S", "Never Married")
	widowed  = concept("http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", "W", "Widowed")
	divorced = concept("http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", "D", "Divorced")

	english    = concept("urn:ietf:bcp:47", "en", "English")
	polish     = concept("urn:ietf:bcp:47", "pl", "Polish")
	portuguese = concept("urn:ietf:bcp:47", "pt", "Portuguese")
	spanish    = concept("urn:ietf:bcp:47", "es", "Spanish")
)

// addPatient writes the Patient, its Coverage and Account, then the story.
func addPatient(b *bundle, p patientSpec) {
	c := &care{b: b, p: p, counts: map[string]int{}}
	patientID := "pat-" + p.key
	fullName := p.given[0] + " " + p.family
	c.patient = b.localRef("Patient/"+patientID, fullName)

	b.add("Patient", patientID,
		field{"identifier", list(obj{
			{"use", "usual"},
			{"type", concept("http://terminology.hl7.org/CodeSystem/v2-0203", "MR", "Medical record number")},
			{"system", sidMRN},
			{"value", p.mrn},
		})},
		field{"active", true},
		field{"name", list(humanName("", p.family, p.given...))},
		field{"telecom", list(phone(p.phone, "home"))},
		field{"gender", p.gender},
		field{"birthDate", p.birthDate},
		field{"address", list(address(p.street, p.postal))},
		field{"maritalStatus", p.marital},
		field{"communication", list(obj{{"language", p.language}, {"preferred", true}})},
		field{"generalPractitioner", list(staffRef(b, p.gp))},
		field{"managingOrganization", b.ref(hospitalRef, "Kestrel Bay General Hospital")},
	)

	coverageID := "cov-" + p.key
	c.coverage = b.localRef("Coverage/"+coverageID, "")
	b.add("Coverage", coverageID,
		field{"identifier", list(identifier(sidMember, p.memberID))},
		field{"status", "active"},
		field{"type", concept(actCode, "HIP", "health insurance plan policy")},
		field{"subscriber", c.patient},
		field{"subscriberId", p.memberID},
		field{"beneficiary", c.patient},
		field{"relationship", concept("http://terminology.hl7.org/CodeSystem/subscriber-relationship", "self", "Self")},
		field{"period", obj{{"start", "2024-01-01"}, {"end", "2025-12-31"}}},
		field{"payor", list(b.ref(p.payer, ""))},
		field{"class", list(obj{
			{"type", concept("http://terminology.hl7.org/CodeSystem/coverage-class", "plan", "Plan")},
			{"value", "GOLD-PPO-2025"},
			{"name", "Gold PPO 2025"},
		})},
	)

	accountID := "acct-" + p.key
	c.account = b.localRef("Account/"+accountID, "")
	b.add("Account", accountID,
		field{"identifier", list(identifier(sidAccount, "A-"+p.mrn))},
		field{"status", "active"},
		field{"type", concept(actCode, "PBILLACCT", "patient billing account")},
		field{"name", "Patient billing account of " + fullName},
		field{"subject", list(c.patient)},
		field{"servicePeriod", obj{{"start", "2025-01-01"}}},
		field{"coverage", list(obj{{"coverage", c.coverage}, {"priority", 1}})},
		field{"owner", b.ref(hospitalRef, "Kestrel Bay General Hospital")},
		field{"description", "Charges for care at Kestrel Bay General Hospital"},
		field{"guarantor", list(obj{{"party", c.patient}, {"onHold", false}})},
	)

	p.story(c)
}

// visit describes one Encounter.
type visit struct {
	class        string // AMB, EMER or IMP
	typeCode     string // SNOMED CT
	typeDisplay  string
	start, end   string
	practitioner string   // attending Practitioner id
	locations    []string // Location ids, in order of stay
	appointment  obj      // Appointment reference, or nil
	reasons      []obj    // Condition references
	admitFromED  bool     // for IMP: admitted through the emergency department
	service      obj      // serviceType
}

var encounterClasses = map[string]string{
	"AMB":  "ambulatory",
	"EMER": "emergency",
	"IMP":  "inpatient encounter",
}

func (c *care) encounter(v visit) obj {
	id := c.nextID("enc")
	ref := c.b.localRef("Encounter/"+id, "")

	var locations []obj
	for _, l := range v.locations {
		locations = append(locations, obj{{"location", c.b.ref("Location/"+l, "")}, {"status", "completed"},
			{"period", period(v.start, v.end)}})
	}
	var diagnoses []obj
	for i, r := range v.reasons {
		use := concept("http://terminology.hl7.org/CodeSystem/diagnosis-role", "CC", "Chief complaint")
		if v.class == "IMP" {
			use = concept("http://terminology.hl7.org/CodeSystem/diagnosis-role", "AD", "Admission diagnosis")
		}
		diagnoses = append(diagnoses, obj{{"condition", r}, {"use", use}, {"rank", i + 1}})
	}
	var hospitalization obj
	if v.class == "IMP" {
		hospitalization = obj{
			{"admitSource", concept("http://terminology.hl7.org/CodeSystem/admit-source", "emd", "From accident/emergency department")},
			{"dischargeDisposition", concept("http://terminology.hl7.org/CodeSystem/discharge-disposition", "home", "Home")},
		}
		if !v.admitFromED {
			hospitalization[0] = field{"admitSource", concept("http://terminology.hl7.org/CodeSystem/admit-source", "gp", "General Practitioner referral")}
		}
	}
	var priority obj
	if v.class == "EMER" {
		priority = concept("http://terminology.hl7.org/CodeSystem/v3-ActPriority", "EM", "emergency")
	}
	var appointments []obj
	if v.appointment != nil {
		appointments = list(v.appointment)
	}

	c.b.add("Encounter", id,
		field{"identifier", list(identifier(hospitalBase+"/sid/visit", "V-"+c.p.mrn+"-"+id[len(id)-1:]))},
		field{"status", "finished"},
		field{"class", coding(actCode, v.class, encounterClasses[v.class])},
		field{"type", list(concept(sct, v.typeCode, v.typeDisplay))},
		field{"serviceType", v.service},
		field{"priority", priority},
		field{"subject", c.patient},
		field{"participant", list(obj{
			{"type", list(concept("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "ATND", "attender"))},
			{"individual", staffRef(c.b, v.practitioner)},
		})},
		field{"appointment", appointments},
		field{"period", period(v.start, v.end)},
		field{"reasonReference", v.reasons},
		field{"diagnosis", diagnoses},
		field{"account", list(c.account)},
		field{"hospitalization", hospitalization},
		field{"location", locations},
		field{"serviceProvider", c.b.ref(hospitalRef, "Kestrel Bay General Hospital")},
	)
	return ref
}

// problem describes one Condition.
type problem struct {
	code, display string
	onset         string
	abated        string // abatementDateTime of a resolved condition, or ""
	encounter     obj
	recorder      string // Practitioner id
	diagnosis     bool   // an encounter diagnosis rather than a problem-list item
}

func (c *care) condition(p problem) obj {
	id := c.nextID("cond")
	ref := c.b.localRef("Condition/"+id, p.display)
	clinical := concept("http://terminology.hl7.org/CodeSystem/condition-clinical", "active", "Active")
	if p.abated != "" {
		clinical = concept("http://terminology.hl7.org/CodeSystem/condition-clinical", "resolved", "Resolved")
	}
	category := concept("http://terminology.hl7.org/CodeSystem/condition-category", "problem-list-item", "Problem List Item")
	if p.diagnosis {
		category = concept("http://terminology.hl7.org/CodeSystem/condition-category", "encounter-diagnosis", "Encounter Diagnosis")
	}
	var abatement any
	if p.abated != "" {
		abatement = p.abated
	}
	c.b.add("Condition", id,
		field{"clinicalStatus", clinical},
		field{"verificationStatus", concept("http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed", "Confirmed")},
		field{"category", list(category)},
		field{"code", concept(sct, p.code, p.display)},
		field{"subject", c.patient},
		field{"encounter", p.encounter},
		field{"onsetDateTime", p.onset},
		field{"abatementDateTime", abatement},
		field{"recordedDate", p.onset},
		field{"recorder", staffRef(c.b, p.recorder)},
	)
	return ref
}

// prescription describes one MedicationRequest.
type prescription struct {
	code, display string
	dosage        string
	perDay        int
	dose          float64
	doseUnit      string // UCUM annotation such as {tbl} or {puff}
	route         obj
	status        string
	authored      string
	encounter     obj
	requester     string
	reason        obj
	supplyDays    int
	refills       int
}

var oral = concept(sct, "26643006", "Oral route")
var inhaled = concept(sct, "447694001", "Respiratory tract route")

func (c *care) prescribe(rx prescription) obj {
	id := c.nextID("medrx")
	ref := c.b.localRef("MedicationRequest/"+id, rx.display)
	var reasons []obj
	if rx.reason != nil {
		reasons = list(rx.reason)
	}
	c.b.add("MedicationRequest", id,
		field{"identifier", list(identifier(hospitalBase+"/sid/prescription", "RX-"+c.p.mrn+"-"+id[len(id)-1:]))},
		field{"status", rx.status},
		field{"intent", "order"},
		field{"medicationCodeableConcept", concept(rxnorm, rx.code, rx.display)},
		field{"subject", c.patient},
		field{"encounter", rx.encounter},
		field{"authoredOn", rx.authored},
		field{"requester", staffRef(c.b, rx.requester)},
		field{"reasonReference", reasons},
		field{"insurance", list(c.coverage)},
		field{"dosageInstruction", list(obj{
			{"sequence", 1},
			{"text", rx.dosage},
			{"timing", obj{{"repeat", obj{{"frequency", rx.perDay}, {"period", 1}, {"periodUnit", "d"}}}}},
			{"route", rx.route},
			{"doseAndRate", list(obj{{"doseQuantity", obj{{"value", rx.dose}, {"unit", rx.doseUnit[1 : len(rx.doseUnit)-1]},
				{"system", ucum}, {"code", rx.doseUnit}}}})},
		})},
		field{"dispenseRequest", obj{
			{"numberOfRepeatsAllowed", rx.refills},
			{"expectedSupplyDuration", quantity(float64(rx.supplyDays), "days", "d")},
		}},
	)
	return ref
}
