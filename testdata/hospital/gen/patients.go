package main

// The patients of the sample and what happened to them. Times are local
// to the hospital: Pacific Standard Time (-08:00) until 9 March 2025,
// Pacific Daylight Time (-07:00) from then on.

var (
	hypertension    = [2]string{"38341003", "Hypertensive disorder, systemic arterial (disorder)"}
	hyperlipidemia  = [2]string{"55822004", "Hyperlipidemia (disorder)"}
	heartFailure    = [2]string{"84114007", "Heart failure (disorder)"}
	atrialFib       = [2]string{"49436004", "Atrial fibrillation (disorder)"}
	diabetesType2   = [2]string{"44054006", "Diabetes mellitus type 2 (disorder)"}
	acuteBronchitis = [2]string{"10509002", "Acute bronchitis (disorder)"}
	asthma          = [2]string{"195967001", "Asthma (disorder)"}
	cystitis        = [2]string{"307426000", "Acute infective cystitis (disorder)"}
	anemia          = [2]string{"271737000", "Anemia (disorder)"}
	ankleSprain     = [2]string{"44465007", "Sprain of ankle (disorder)"}
	gout            = [2]string{"90560007", "Gout (disorder)"}
	essentialHTN    = [2]string{"59621000", "Essential hypertension (disorder)"}
)

const (
	venousBlood = "122555007"
	serum       = "119364003"
	urine       = "122575003"
)

var specimenNames = map[string]string{
	venousBlood: "Venous blood specimen",
	serum:       "Serum specimen",
	urine:       "Urine specimen",
}

func order(o labOrder) labOrder {
	o.specimenDisplay = specimenNames[o.specimenCode]
	return o
}

var patients = []patientSpec{
	{key: "hartwell", family: "Hartwell", given: []string{"Amelia", "Rose"}, gender: "female", birthDate: "1958-04-12",
		mrn: "KB100231", phone: "503-555-0231", street: "14 Spindrift Lane", postal: "97399", marital: married, language: english,
		gp: "pr-brandt", payer: payerRef, memberID: "NWH-77810231", story: hartwellStory},
	{key: "brennan", family: "Brennan", given: []string{"Tomasz"}, gender: "male", birthDate: "1949-11-30",
		mrn: "KB100487", phone: "503-555-0487", street: "305 Cormorant Street", postal: "97398", marital: widowed, language: polish,
		gp: "pr-brandt", payer: payer2Ref, memberID: "CMI-40487-01", story: brennanStory},
	{key: "raman", family: "Raman", given: []string{"Priya"}, gender: "female", birthDate: "1987-07-22",
		mrn: "KB100562", phone: "503-555-0562", street: "77 Tidewater Court", postal: "97399", marital: married, language: english,
		gp: "pr-brandt", payer: payerRef, memberID: "NWH-77810562", story: ramanStory},
	{key: "okonkwo", family: "Okonkwo-Reyes", given: []string{"Daniel"}, gender: "male", birthDate: "2001-02-09",
		mrn: "KB100618", phone: "503-555-0618", street: "9 Breakwater Row, Apt 4", postal: "97398", marital: single, language: spanish,
		gp: "pr-brandt", payer: payer2Ref, memberID: "CMI-40618-01", story: okonkwoStory},
	{key: "lindqvist", family: "Lindqvist", given: []string{"Margaret", "Ingrid"}, gender: "female", birthDate: "1936-09-03",
		mrn: "KB100744", phone: "503-555-0744", street: "52 Lighthouse Hill", postal: "97399", marital: widowed, language: english,
		gp: "pr-brandt", payer: payerRef, memberID: "NWH-77810744", story: lindqvistStory},
	{key: "achterberg", family: "Achterberg", given: []string{"Samuel"}, gender: "male", birthDate: "1972-05-18",
		mrn: "KB100803", phone: "503-555-0803", street: "410 Saltmarsh Road", postal: "97397", marital: divorced, language: english,
		gp: "pr-brandt", payer: payer2Ref, memberID: "CMI-40803-02", story: achterbergStory},
	{key: "ferreira", family: "Ferreira", given: []string{"Lucia"}, gender: "female", birthDate: "1994-12-01",
		mrn: "KB100915", phone: "503-555-0915", street: "23 Pelican Way", postal: "97398", marital: single, language: portuguese,
		gp: "pr-brandt", payer: payerRef, memberID: "NWH-77810915", story: ferreiraStory},
	{key: "mwangi", family: "Mwangi", given: []string{"Henry", "Kamau"}, gender: "male", birthDate: "1964-03-27",
		mrn: "KB101022", phone: "503-555-1022", street: "7 Driftwood Terrace", postal: "97399", marital: married, language: english,
		gp: "pr-brandt", payer: payerRef, memberID: "NWH-77811022", story: mwangiStory},
}

// hartwellStory: a cardiology clinic visit for blood pressure and
// cholesterol, a lipid panel, two new prescriptions and a booked
// follow-up.
func hartwellStory(c *care) {
	htn := c.condition(problem{code: hypertension[0], display: hypertension[1], onset: "2016-05-20", recorder: "pr-brandt"})
	hld := c.condition(problem{code: hyperlipidemia[0], display: hyperlipidemia[1], onset: "2019-09-02", recorder: "pr-brandt"})
	appt := c.appointment(booking{slot: "slot-okafor-20250303-0900", status: "fulfilled", practitioner: "pr-okafor",
		location: "kbg-cardiology-clinic", service: cardiology, reason: htn, created: "2025-02-10T11:20:00-08:00",
		description: "Cardiology review of blood pressure and cholesterol"})
	enc := c.encounter(visit{class: "AMB", typeCode: "185347001", typeDisplay: "Encounter for problem (procedure)",
		start: "2025-03-03T09:02:00-08:00", end: "2025-03-03T09:34:00-08:00", practitioner: "pr-okafor",
		locations: []string{"kbg-cardiology-clinic"}, appointment: appt, reasons: []obj{htn, hld}, service: cardiology})
	c.vitals(vitalSigns{at: "2025-03-03T09:05:00-08:00", encounter: enc, performer: "pr-okafor",
		systolic: 148, diastolic: 92, heartRate: 76, weight: 71.4})
	c.lab(order(labOrder{panelCode: "57698-3", panelDisplay: "Lipid panel with direct LDL - Serum or Plasma",
		specimenCode: serum, ordered: "2025-03-03T09:30:00-08:00", collected: "2025-03-03T10:05:00-08:00",
		issued: "2025-03-03T15:42:10-08:00", encounter: enc, requester: "pr-okafor", reason: hld, priority: "routine",
		results: []result{
			{code: "2093-3", display: "Cholesterol [Mass/volume] in Serum or Plasma", value: 231, unit: "mg/dL", ucum: "mg/dL", high: 200},
			{code: "2571-8", display: "Triglyceride [Mass/volume] in Serum or Plasma", value: 168, unit: "mg/dL", ucum: "mg/dL", high: 150},
			{code: "2085-9", display: "Cholesterol in HDL [Mass/volume] in Serum or Plasma", value: 48, unit: "mg/dL", ucum: "mg/dL", low: 40, high: 60},
			{code: "18262-6", display: "Cholesterol in LDL [Mass/volume] in Serum or Plasma by Direct assay", value: 149, unit: "mg/dL", ucum: "mg/dL", high: 100},
		},
		conclusion: "Total and LDL cholesterol above target; HDL within range."}))
	c.prescribe(prescription{code: "314076", display: "lisinopril 10 MG Oral Tablet", dosage: "Take one tablet by mouth once daily",
		perDay: 1, dose: 1, doseUnit: "{tbl}", route: oral, status: "active", authored: "2025-03-03T09:30:00-08:00",
		encounter: enc, requester: "pr-okafor", reason: htn, supplyDays: 30, refills: 5})
	c.prescribe(prescription{code: "312961", display: "simvastatin 20 MG Oral Tablet", dosage: "Take one tablet by mouth every evening",
		perDay: 1, dose: 1, doseUnit: "{tbl}", route: oral, status: "active", authored: "2025-03-03T09:31:00-08:00",
		encounter: enc, requester: "pr-okafor", reason: hld, supplyDays: 30, refills: 5})
	c.appointment(booking{slot: "slot-okafor-20250602-0900", status: "booked", practitioner: "pr-okafor",
		location: "kbg-cardiology-clinic", service: cardiology, followUp: true, reason: htn, created: "2025-03-03T09:33:00-08:00",
		description: "Follow-up of blood pressure after starting lisinopril"})
	c.bill(billing{encounter: enc, created: "2025-03-04T08:00:00-08:00", diagnoses: []obj{htn, hld}, claimType: "professional",
		attending: "pr-okafor", invoiceStatus: "balanced", charges: []charge{
			{"185347001", "Encounter for problem (procedure)", "2025-03-03", 185},
			{"16254007", "Lipid panel (procedure)", "2025-03-03", 42},
		}})
	c.feedback(feedback{encounter: enc, authored: "2025-03-05T19:12:00-08:00", overall: 4, explained: 5, wait: 1, recommend: true,
		comments: "Dr. Okafor took time to explain the new medicines. Parking was hard to find."})
}

// brennanStory: an emergency visit for breathlessness, admission to Ward
// 3 for heart failure, lab work in the emergency department, and a bill
// for both stays.
func brennanStory(c *care) {
	hf := c.condition(problem{code: heartFailure[0], display: heartFailure[1], onset: "2021-08-14", recorder: "pr-brandt"})
	af := c.condition(problem{code: atrialFib[0], display: atrialFib[1], onset: "2020-02-03", recorder: "pr-brandt"})

	ed := c.encounter(visit{class: "EMER", typeCode: "50849002", typeDisplay: "Emergency room admission (procedure)",
		start: "2025-02-14T21:40:00-08:00", end: "2025-02-15T01:15:00-08:00", practitioner: "pr-castellano",
		locations: []string{"kbg-emergency"}, reasons: []obj{hf}, service: emergencyMed})
	c.vitals(vitalSigns{at: "2025-02-14T21:52:00-08:00", encounter: ed, performer: "pr-dubois",
		systolic: 162, diastolic: 98, heartRate: 118, temperature: 36.9, oxygenSaturation: 89})
	c.lab(order(labOrder{panelCode: "51990-0", panelDisplay: "Basic metabolic panel - Blood",
		specimenCode: venousBlood, ordered: "2025-02-14T21:55:00-08:00", collected: "2025-02-14T22:04:00-08:00",
		issued: "2025-02-14T22:51:37-08:00", encounter: ed, requester: "pr-castellano", reason: hf, priority: "stat",
		results: []result{
			{code: "2339-0", display: "Glucose [Mass/volume] in Blood", value: 128, unit: "mg/dL", ucum: "mg/dL", low: 70, high: 99},
			{code: "2947-0", display: "Sodium [Moles/volume] in Blood", value: 134, unit: "mmol/L", ucum: "mmol/L", low: 136, high: 145},
			{code: "6298-4", display: "Potassium [Moles/volume] in Blood", value: 4.6, unit: "mmol/L", ucum: "mmol/L", low: 3.5, high: 5.1},
			{code: "38483-4", display: "Creatinine [Mass/volume] in Blood", value: 1.4, unit: "mg/dL", ucum: "mg/dL", low: 0.7, high: 1.3},
			{code: "6299-2", display: "Urea nitrogen [Mass/volume] in Blood", value: 31, unit: "mg/dL", ucum: "mg/dL", low: 8, high: 23},
		},
		conclusion: "Mild hyponatraemia; creatinine and urea raised."}))
	c.lab(order(labOrder{panelCode: "33762-6", panelDisplay: "Natriuretic peptide.B prohormone N-Terminal [Mass/volume] in Serum or Plasma",
		specimenCode: serum, ordered: "2025-02-14T21:55:00-08:00", collected: "2025-02-14T22:04:00-08:00",
		issued: "2025-02-14T23:08:12-08:00", encounter: ed, requester: "pr-castellano", reason: hf, priority: "stat",
		results: []result{
			{code: "33762-6", display: "Natriuretic peptide.B prohormone N-Terminal [Mass/volume] in Serum or Plasma",
				value: 4850, unit: "pg/mL", ucum: "pg/mL", high: 450},
		},
		conclusion: "NT-proBNP markedly raised, consistent with decompensated heart failure."}))

	ward := c.encounter(visit{class: "IMP", typeCode: "32485007", typeDisplay: "Hospital admission (procedure)",
		start: "2025-02-15T01:15:00-08:00", end: "2025-02-19T11:30:00-08:00", practitioner: "pr-lindgren",
		locations: []string{"kbg-ward-3", "kbg-bed-3-12a"}, reasons: []obj{hf, af}, admitFromED: true, service: internalMed})
	c.vitals(vitalSigns{at: "2025-02-18T08:00:00-08:00", encounter: ward, performer: "pr-nakamura",
		systolic: 134, diastolic: 82, heartRate: 84, temperature: 36.7, weight: 82.3, oxygenSaturation: 95})

	c.prescribe(prescription{code: "866412", display: "24 HR metoprolol succinate 100 MG Extended Release Oral Tablet",
		dosage: "Take one tablet by mouth once daily", perDay: 1, dose: 1, doseUnit: "{tbl}", route: oral, status: "active",
		authored: "2025-02-19T10:00:00-08:00", encounter: ward, requester: "pr-lindgren", reason: hf, supplyDays: 30, refills: 3})
	c.prescribe(prescription{code: "197604", display: "digoxin 0.125 MG Oral Tablet",
		dosage: "Take one tablet by mouth once daily", perDay: 1, dose: 1, doseUnit: "{tbl}", route: oral, status: "active",
		authored: "2025-02-19T10:02:00-08:00", encounter: ward, requester: "pr-lindgren", reason: af, supplyDays: 30, refills: 3})
	c.prescribe(prescription{code: "855332", display: "warfarin sodium 5 MG Oral Tablet",
		dosage: "Take one tablet by mouth every evening; dose adjusted to INR", perDay: 1, dose: 1, doseUnit: "{tbl}", route: oral,
		status: "active", authored: "2025-02-19T10:05:00-08:00", encounter: ward, requester: "pr-lindgren", reason: af,
		supplyDays: 30, refills: 0})

	c.bill(billing{encounter: ward, created: "2025-02-20T09:00:00-08:00", diagnoses: []obj{hf, af}, claimType: "institutional",
		attending: "pr-lindgren", invoiceStatus: "issued", charges: []charge{
			{"50849002", "Emergency room admission (procedure)", "2025-02-14", 1420},
			{"32485007", "Hospital admission (procedure)", "2025-02-15", 9850},
		}})
	c.feedback(feedback{encounter: ward, authored: "2025-02-24T10:05:00-08:00", overall: 5, explained: 4, wait: 3, recommend: true,
		comments: "The nurses on Ward 3 were kind and patient. The wait in the emergency department was long."})
}

// ramanStory: a diabetes review with an HbA1c test, metformin, and a
// follow-up booked for June.
func ramanStory(c *care) {
	dm := c.condition(problem{code: diabetesType2[0], display: diabetesType2[1], onset: "2022-11-08", recorder: "pr-brandt"})
	appt := c.appointment(booking{slot: "slot-brandt-20250305-1400", status: "fulfilled", practitioner: "pr-brandt",
		location: "kbg-medicine-clinic", service: generalMedicine, reason: dm, created: "2025-02-20T09:00:00-08:00",
		description: "Diabetes review"})
	enc := c.encounter(visit{class: "AMB", typeCode: "390906007", typeDisplay: "Follow-up encounter (procedure)",
		start: "2025-03-05T14:03:00-08:00", end: "2025-03-05T14:21:00-08:00", practitioner: "pr-brandt",
		locations: []string{"kbg-medicine-clinic"}, appointment: appt, reasons: []obj{dm}, service: generalMedicine})
	c.vitals(vitalSigns{at: "2025-03-05T14:05:00-08:00", encounter: enc, performer: "pr-brandt",
		systolic: 128, diastolic: 80, heartRate: 72, weight: 79.0})
	c.lab(order(labOrder{panelCode: "4548-4", panelDisplay: "Hemoglobin A1c/Hemoglobin.total in Blood",
		specimenCode: venousBlood, ordered: "2025-03-05T14:15:00-08:00", collected: "2025-03-05T14:30:00-08:00",
		issued: "2025-03-06T09:12:44-08:00", encounter: enc, requester: "pr-brandt", reason: dm, priority: "routine",
		results: []result{
			{code: "4548-4", display: "Hemoglobin A1c/Hemoglobin.total in Blood", value: 7.4, unit: "%", ucum: "%", low: 4.0, high: 5.6},
		},
		conclusion: "HbA1c above the individual target of 7.0%."}))
	c.prescribe(prescription{code: "860975", display: "24 HR metformin hydrochloride 500 MG Extended Release Oral Tablet",
		dosage: "Take two tablets by mouth once daily with the evening meal", perDay: 1, dose: 2, doseUnit: "{tbl}", route: oral,
		status: "active", authored: "2025-03-05T14:20:00-08:00", encounter: enc, requester: "pr-brandt", reason: dm,
		supplyDays: 30, refills: 5})
	c.appointment(booking{slot: "slot-brandt-20250604-1400", status: "booked", practitioner: "pr-brandt",
		location: "kbg-medicine-clinic", service: generalMedicine, followUp: true, reason: dm, created: "2025-03-05T14:21:00-08:00",
		description: "Diabetes review with repeat HbA1c"})
	c.bill(billing{encounter: enc, created: "2025-03-06T08:00:00-08:00", diagnoses: []obj{dm}, claimType: "professional",
		attending: "pr-brandt", invoiceStatus: "issued", charges: []charge{
			{"390906007", "Follow-up encounter (procedure)", "2025-03-05", 140},
			{"43396009", "Hemoglobin A1c measurement (procedure)", "2025-03-05", 38},
		}})
}

// okonkwoStory: an emergency visit for acute bronchitis in a young man
// with asthma.
func okonkwoStory(c *care) {
	chronic := c.condition(problem{code: asthma[0], display: asthma[1], onset: "2012-06-01", recorder: "pr-brandt"})
	ed := c.encounter(visit{class: "EMER", typeCode: "50849002", typeDisplay: "Emergency room admission (procedure)",
		start: "2025-01-27T18:10:00-08:00", end: "2025-01-27T21:45:00-08:00", practitioner: "pr-castellano",
		locations: []string{"kbg-emergency"}, reasons: nil, service: emergencyMed})
	bronchitis := c.condition(problem{code: acuteBronchitis[0], display: acuteBronchitis[1], onset: "2025-01-24",
		abated: "2025-02-10", encounter: ed, recorder: "pr-castellano", diagnosis: true})
	c.vitals(vitalSigns{at: "2025-01-27T18:20:00-08:00", encounter: ed, performer: "pr-dubois",
		systolic: 122, diastolic: 76, heartRate: 96, temperature: 38.1, oxygenSaturation: 95})
	c.lab(order(labOrder{panelCode: "58410-2", panelDisplay: "CBC panel - Blood by Automated count",
		specimenCode: venousBlood, ordered: "2025-01-27T18:32:00-08:00", collected: "2025-01-27T18:40:00-08:00",
		issued: "2025-01-27T19:55:03-08:00", encounter: ed, requester: "pr-castellano", reason: bronchitis, priority: "urgent",
		results: []result{
			{code: "6690-2", display: "Leukocytes [#/volume] in Blood by Automated count", value: 11.8, unit: "10*3/uL", ucum: "10*3/uL", low: 4.5, high: 11.0},
			{code: "718-7", display: "Hemoglobin [Mass/volume] in Blood", value: 14.6, unit: "g/dL", ucum: "g/dL", low: 13.5, high: 17.5},
			{code: "4544-3", display: "Hematocrit [Volume Fraction] of Blood by Automated count", value: 43.9, unit: "%", ucum: "%", low: 41, high: 53},
			{code: "777-3", display: "Platelets [#/volume] in Blood by Automated count", value: 265, unit: "10*3/uL", ucum: "10*3/uL", low: 150, high: 400},
		},
		conclusion: "Mild leukocytosis."}))
	c.prescribe(prescription{code: "745679", display: "200 ACTUAT albuterol 0.09 MG/ACTUAT Metered Dose Inhaler",
		dosage: "Inhale two puffs every four to six hours as needed for wheeze", perDay: 4, dose: 2, doseUnit: "{puff}",
		route: inhaled, status: "active", authored: "2025-01-27T21:30:00-08:00", encounter: ed, requester: "pr-castellano",
		reason: chronic, supplyDays: 30, refills: 2})
	c.bill(billing{encounter: ed, created: "2025-01-28T08:00:00-08:00", diagnoses: []obj{bronchitis, chronic}, claimType: "institutional",
		attending: "pr-castellano", invoiceStatus: "issued", charges: []charge{
			{"50849002", "Emergency room admission (procedure)", "2025-01-27", 980},
			{"26604007", "Complete blood count (procedure)", "2025-01-27", 29},
		}})
	c.feedback(feedback{encounter: ed, authored: "2025-01-30T20:41:00-08:00", overall: 3, explained: 3, wait: 2, recommend: false,
		comments: "Staff were friendly but nobody told me how long I would wait."})
}

// lindqvistStory: a same-week clinic visit for a urinary infection, a urine
// culture that grows E. coli, and a short course of antibiotics.
func lindqvistStory(c *care) {
	uti := c.condition(problem{code: cystitis[0], display: cystitis[1], onset: "2025-03-10", abated: "2025-03-20",
		recorder: "pr-brandt", diagnosis: true})
	appt := c.appointment(booking{slot: "slot-brandt-20250312-1020", status: "fulfilled", practitioner: "pr-brandt",
		location: "kbg-medicine-clinic", service: generalMedicine, reason: uti, created: "2025-03-11T08:45:00-07:00",
		description: "Burning on urination for two days"})
	enc := c.encounter(visit{class: "AMB", typeCode: "185345009", typeDisplay: "Encounter for symptom (procedure)",
		start: "2025-03-12T10:22:00-07:00", end: "2025-03-12T10:44:00-07:00", practitioner: "pr-brandt",
		locations: []string{"kbg-medicine-clinic"}, appointment: appt, reasons: []obj{uti}, service: generalMedicine})
	c.vitals(vitalSigns{at: "2025-03-12T10:25:00-07:00", encounter: enc, performer: "pr-brandt",
		systolic: 138, diastolic: 78, heartRate: 80, temperature: 37.6})
	c.lab(order(labOrder{panelCode: "630-4", panelDisplay: "Bacteria identified in Urine by Culture",
		specimenCode: urine, ordered: "2025-03-12T10:35:00-07:00", collected: "2025-03-12T10:40:00-07:00",
		issued: "2025-03-14T11:03:27-07:00", encounter: enc, requester: "pr-brandt", reason: uti, priority: "routine",
		results: []result{
			{code: "630-4", display: "Bacteria identified in Urine by Culture", coded: concept(sct, "112283007", "Escherichia coli")},
		},
		conclusion: "More than 100,000 CFU/mL Escherichia coli, sensitive to ciprofloxacin."}))
	c.prescribe(prescription{code: "309309", display: "ciprofloxacin 500 MG Oral Tablet",
		dosage: "Take one tablet by mouth twice daily for 3 days", perDay: 2, dose: 1, doseUnit: "{tbl}", route: oral,
		status: "completed", authored: "2025-03-14T12:10:00-07:00", encounter: enc, requester: "pr-brandt", reason: uti,
		supplyDays: 3, refills: 0})
	c.bill(billing{encounter: enc, created: "2025-03-15T08:00:00-07:00", diagnoses: []obj{uti}, claimType: "professional",
		attending: "pr-brandt", invoiceStatus: "balanced", charges: []charge{
			{"185345009", "Encounter for symptom (procedure)", "2025-03-12", 140},
			{"117010004", "Urine culture (procedure)", "2025-03-12", 52},
		}})
	c.feedback(feedback{encounter: enc, authored: "2025-03-16T15:30:00-07:00", overall: 5, explained: 5, wait: 0, recommend: true,
		comments: "Quick and thorough. Thank you."})
}

// achterbergStory: tiredness worked up with a blood count that shows a
// microcytic anaemia, treated with iron.
func achterbergStory(c *care) {
	appt := c.appointment(booking{slot: "slot-brandt-20250305-1420", status: "fulfilled", practitioner: "pr-brandt",
		location: "kbg-medicine-clinic", service: generalMedicine, created: "2025-02-26T16:10:00-08:00",
		description: "Tiredness for six weeks"})
	enc := c.encounter(visit{class: "AMB", typeCode: "185345009", typeDisplay: "Encounter for symptom (procedure)",
		start: "2025-03-05T14:24:00-08:00", end: "2025-03-05T14:43:00-08:00", practitioner: "pr-brandt",
		locations: []string{"kbg-medicine-clinic"}, appointment: appt, service: generalMedicine})
	c.vitals(vitalSigns{at: "2025-03-05T14:26:00-08:00", encounter: enc, performer: "pr-brandt",
		systolic: 118, diastolic: 74, heartRate: 88, weight: 84.2})
	c.lab(order(labOrder{panelCode: "58410-2", panelDisplay: "CBC panel - Blood by Automated count",
		specimenCode: venousBlood, ordered: "2025-03-05T14:40:00-08:00", collected: "2025-03-05T14:50:00-08:00",
		issued: "2025-03-05T17:31:19-08:00", encounter: enc, requester: "pr-brandt", priority: "routine",
		results: []result{
			{code: "6690-2", display: "Leukocytes [#/volume] in Blood by Automated count", value: 6.2, unit: "10*3/uL", ucum: "10*3/uL", low: 4.5, high: 11.0},
			{code: "718-7", display: "Hemoglobin [Mass/volume] in Blood", value: 10.9, unit: "g/dL", ucum: "g/dL", low: 13.5, high: 17.5},
			{code: "4544-3", display: "Hematocrit [Volume Fraction] of Blood by Automated count", value: 33.8, unit: "%", ucum: "%", low: 41, high: 53},
			{code: "787-2", display: "MCV [Entitic volume] by Automated count", value: 74, unit: "fL", ucum: "fL", low: 80, high: 100},
			{code: "777-3", display: "Platelets [#/volume] in Blood by Automated count", value: 412, unit: "10*3/uL", ucum: "10*3/uL", low: 150, high: 400},
		},
		conclusion: "Microcytic anaemia with reactive thrombocytosis; iron studies advised."}))
	an := c.condition(problem{code: anemia[0], display: anemia[1], onset: "2025-03-05", encounter: enc, recorder: "pr-brandt"})
	c.prescribe(prescription{code: "310325", display: "ferrous sulfate 325 MG Oral Tablet",
		dosage: "Take one tablet by mouth once daily with orange juice", perDay: 1, dose: 1, doseUnit: "{tbl}", route: oral,
		status: "active", authored: "2025-03-06T09:00:00-08:00", encounter: enc, requester: "pr-brandt", reason: an,
		supplyDays: 90, refills: 1})
	c.bill(billing{encounter: enc, created: "2025-03-06T08:00:00-08:00", diagnoses: []obj{an}, claimType: "professional",
		attending: "pr-brandt", invoiceStatus: "issued", charges: []charge{
			{"185345009", "Encounter for symptom (procedure)", "2025-03-05", 140},
			{"26604007", "Complete blood count (procedure)", "2025-03-05", 29},
		}})
}

// ferreiraStory: a sprained ankle seen in the emergency department.
func ferreiraStory(c *care) {
	ed := c.encounter(visit{class: "EMER", typeCode: "50849002", typeDisplay: "Emergency room admission (procedure)",
		start: "2025-01-11T13:05:00-08:00", end: "2025-01-11T15:20:00-08:00", practitioner: "pr-castellano",
		locations: []string{"kbg-emergency"}, service: emergencyMed})
	sprain := c.condition(problem{code: ankleSprain[0], display: ankleSprain[1], onset: "2025-01-11", abated: "2025-02-08",
		encounter: ed, recorder: "pr-castellano", diagnosis: true})
	c.vitals(vitalSigns{at: "2025-01-11T13:15:00-08:00", encounter: ed, performer: "pr-dubois",
		systolic: 116, diastolic: 72, heartRate: 82})
	c.prescribe(prescription{code: "310965", display: "ibuprofen 200 MG Oral Tablet",
		dosage: "Take two tablets by mouth up to three times a day with food, for up to 7 days", perDay: 3, dose: 2,
		doseUnit: "{tbl}", route: oral, status: "completed", authored: "2025-01-11T15:05:00-08:00", encounter: ed,
		requester: "pr-castellano", reason: sprain, supplyDays: 7, refills: 0})
	c.bill(billing{encounter: ed, created: "2025-01-12T08:00:00-08:00", diagnoses: []obj{sprain}, claimType: "institutional",
		attending: "pr-castellano", invoiceStatus: "balanced", charges: []charge{
			{"50849002", "Emergency room admission (procedure)", "2025-01-11", 640},
		}})
	c.feedback(feedback{encounter: ed, authored: "2025-01-14T09:00:00-08:00", overall: 4, explained: 4, wait: 1, recommend: true})
}

// mwangiStory: a gout and blood pressure follow-up with kidney function
// and urate tests.
func mwangiStory(c *care) {
	gt := c.condition(problem{code: gout[0], display: gout[1], onset: "2023-07-19", recorder: "pr-brandt"})
	htn := c.condition(problem{code: essentialHTN[0], display: essentialHTN[1], onset: "2018-04-02", recorder: "pr-brandt"})
	appt := c.appointment(booking{slot: "slot-brandt-20250312-1000", status: "fulfilled", practitioner: "pr-brandt",
		location: "kbg-medicine-clinic", service: generalMedicine, followUp: true, reason: gt, created: "2025-02-27T10:00:00-08:00",
		description: "Gout follow-up and kidney function check"})
	enc := c.encounter(visit{class: "AMB", typeCode: "390906007", typeDisplay: "Follow-up encounter (procedure)",
		start: "2025-03-12T10:01:00-07:00", end: "2025-03-12T10:19:00-07:00", practitioner: "pr-brandt",
		locations: []string{"kbg-medicine-clinic"}, appointment: appt, reasons: []obj{gt, htn}, service: generalMedicine})
	c.vitals(vitalSigns{at: "2025-03-12T10:03:00-07:00", encounter: enc, performer: "pr-brandt",
		systolic: 142, diastolic: 88, heartRate: 70, weight: 96.5})
	c.lab(order(labOrder{panelCode: "24323-8", panelDisplay: "Comprehensive metabolic 2000 panel - Serum or Plasma",
		specimenCode: serum, ordered: "2025-03-12T10:15:00-07:00", collected: "2025-03-12T10:30:00-07:00",
		issued: "2025-03-12T16:20:05-07:00", encounter: enc, requester: "pr-brandt", reason: htn, priority: "routine",
		results: []result{
			{code: "2345-7", display: "Glucose [Mass/volume] in Serum or Plasma", value: 96, unit: "mg/dL", ucum: "mg/dL", low: 70, high: 99},
			{code: "2160-0", display: "Creatinine [Mass/volume] in Serum or Plasma", value: 1.2, unit: "mg/dL", ucum: "mg/dL", low: 0.7, high: 1.3},
			{code: "2951-2", display: "Sodium [Moles/volume] in Serum or Plasma", value: 140, unit: "mmol/L", ucum: "mmol/L", low: 136, high: 145},
			{code: "2823-3", display: "Potassium [Moles/volume] in Serum or Plasma", value: 4.2, unit: "mmol/L", ucum: "mmol/L", low: 3.5, high: 5.1},
			{code: "1751-7", display: "Albumin [Mass/volume] in Serum or Plasma", value: 4.3, unit: "g/dL", ucum: "g/dL", low: 3.5, high: 5.2},
		},
		conclusion: "Kidney function and electrolytes within reference ranges."}))
	c.lab(order(labOrder{panelCode: "3084-1", panelDisplay: "Urate [Mass/volume] in Serum or Plasma",
		specimenCode: serum, ordered: "2025-03-12T10:15:00-07:00", collected: "2025-03-12T10:30:00-07:00",
		issued: "2025-03-12T16:20:05-07:00", encounter: enc, requester: "pr-brandt", reason: gt, priority: "routine",
		results: []result{
			{code: "3084-1", display: "Urate [Mass/volume] in Serum or Plasma", value: 7.9, unit: "mg/dL", ucum: "mg/dL", low: 3.4, high: 7.0},
		},
		conclusion: "Urate above the treatment target of 6.0 mg/dL."}))
	c.prescribe(prescription{code: "197319", display: "allopurinol 100 MG Oral Tablet",
		dosage: "Take one tablet by mouth once daily", perDay: 1, dose: 1, doseUnit: "{tbl}", route: oral, status: "active",
		authored: "2025-03-12T10:18:00-07:00", encounter: enc, requester: "pr-brandt", reason: gt, supplyDays: 90, refills: 3})
	c.prescribe(prescription{code: "197361", display: "amlodipine 5 MG Oral Tablet",
		dosage: "Take one tablet by mouth once daily", perDay: 1, dose: 1, doseUnit: "{tbl}", route: oral, status: "active",
		authored: "2025-03-12T10:18:30-07:00", encounter: enc, requester: "pr-brandt", reason: htn, supplyDays: 90, refills: 3})
	c.bill(billing{encounter: enc, created: "2025-03-13T08:00:00-07:00", diagnoses: []obj{gt, htn}, claimType: "professional",
		attending: "pr-brandt", invoiceStatus: "issued", charges: []charge{
			{"390906007", "Follow-up encounter (procedure)", "2025-03-12", 140},
		}})
}
