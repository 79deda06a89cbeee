package main

// charge is one billed service.
type charge struct {
	code, display string // SNOMED CT procedure
	date          string
	amount        float64
}

// billing describes the charges of one encounter.
type billing struct {
	encounter     obj
	created       string
	diagnoses     []obj  // Condition references
	claimType     string // institutional or professional
	attending     string // Practitioner id
	charges       []charge
	invoiceStatus string // issued or balanced
}

// bill writes a Claim to the patient's insurer and an Invoice for the same
// charges on the patient's Account.
func (c *care) bill(bl billing) {
	encounter, created, diagnoses, claimType, charges := bl.encounter, bl.created, bl.diagnoses, bl.claimType, bl.charges
	claimID := c.nextID("claim")
	invoiceID := c.nextID("inv")
	var total float64
	var items, lines []obj
	for i, ch := range charges {
		total += ch.amount
		items = append(items, obj{
			{"sequence", i + 1},
			{"careTeamSequence", []int{1}},
			{"productOrService", concept(sct, ch.code, ch.display)},
			{"servicedDate", ch.date},
			{"unitPrice", money(ch.amount)},
			{"net", money(ch.amount)},
			{"encounter", list(encounter)},
		})
		lines = append(lines, obj{
			{"sequence", i + 1},
			{"chargeItemCodeableConcept", concept(sct, ch.code, ch.display)},
			{"priceComponent", list(obj{{"type", "base"}, {"amount", money(ch.amount)}})},
		})
	}
	var claimDiagnoses []obj
	for i, d := range diagnoses {
		claimDiagnoses = append(claimDiagnoses, obj{{"sequence", i + 1}, {"diagnosisReference", d}})
	}

	c.b.add("Claim", claimID,
		field{"identifier", list(identifier(sidClaim, "CLM-"+c.p.mrn+"-"+claimID[len(claimID)-1:]))},
		field{"status", "active"},
		field{"type", concept("http://terminology.hl7.org/CodeSystem/claim-type", claimType, claimTypes[claimType])},
		field{"use", "claim"},
		field{"patient", c.patient},
		field{"billablePeriod", period(charges[0].date, charges[len(charges)-1].date)},
		field{"created", created},
		field{"provider", c.b.ref(hospitalRef, "Kestrel Bay General Hospital")},
		field{"priority", concept("http://terminology.hl7.org/CodeSystem/processpriority", "normal", "Normal")},
		field{"careTeam", list(obj{{"sequence", 1}, {"provider", staffRef(c.b, bl.attending)}})},
		field{"diagnosis", claimDiagnoses},
		field{"insurance", list(obj{{"sequence", 1}, {"focal", true}, {"coverage", c.coverage}})},
		field{"item", items},
		field{"total", money(total)},
	)

	c.b.add("Invoice", invoiceID,
		field{"identifier", list(identifier(sidInvoice, "INV-"+c.p.mrn+"-"+invoiceID[len(invoiceID)-1:]))},
		field{"status", bl.invoiceStatus},
		field{"type", text("Hospital services")},
		field{"subject", c.patient},
		field{"recipient", c.patient},
		field{"date", created},
		field{"issuer", c.b.ref(hospitalRef, "Kestrel Bay General Hospital")},
		field{"account", c.account},
		field{"lineItem", lines},
		field{"totalNet", money(total)},
		field{"totalGross", money(total)},
		field{"paymentTerms", "Due within 30 days of the insurer's decision; payment plans on request."},
	)
}

var claimTypes = map[string]string{
	"institutional": "Institutional",
	"professional":  "Professional",
}

// feedback is one patient's answers to the feedback questionnaire.
type feedback struct {
	encounter obj
	authored  string
	overall   int // 1 to 5
	explained int // 1 to 5
	wait      int // index into waitTimes, or -1 when unanswered
	recommend bool
	comments  string
}

func (c *care) feedback(f feedback) {
	id := c.nextID("qr")
	answer := func(linkID, question string, value field) obj {
		return obj{{"linkId", linkID}, {"text", question}, {"answer", list(obj{value})}}
	}
	items := list(
		answer("overall", "How would you rate your overall experience?", field{"valueCoding", satisfaction[5-f.overall]}),
		answer("explained", "How well did our staff explain your care and treatment?", field{"valueCoding", satisfaction[5-f.explained]}),
	)
	if f.wait >= 0 {
		items = append(items, answer("wait", "How long did you wait past your appointment or arrival time?",
			field{"valueCoding", waitTimes[f.wait]}))
	}
	items = append(items, answer("recommend", "Would you recommend Kestrel Bay General Hospital to friends and family?",
		field{"valueBoolean", f.recommend}))
	if f.comments != "" {
		items = append(items, answer("comments", "Is there anything else you would like to tell us?", field{"valueString", f.comments}))
	}
	c.b.add("QuestionnaireResponse", id,
		field{"questionnaire", feedbackURL},
		field{"status", "completed"},
		field{"subject", c.patient},
		field{"encounter", f.encounter},
		field{"authored", f.authored},
		field{"author", c.patient},
		field{"source", c.patient},
		field{"item", items},
	)
}
