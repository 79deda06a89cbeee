package main

// The facility Bundle: the hospital, its payers, places, services, staff,
// clinic schedules with their slots, and the feedback questionnaire.

const (
	hospitalID  = "kestrel-bay-general"
	hospitalRef = "Organization/" + hospitalID
	labOrgRef   = "Organization/kbg-laboratory"
	payerRef    = "Organization/northwind-health"
	payer2Ref   = "Organization/cascade-mutual"

	feedbackURL = hospitalBase + "/Questionnaire/patient-feedback"
)

// staff is one member of staff with the role they hold at the hospital.
type staff struct {
	id, prefix, family string
	given              []string
	gender             string
	staffNumber        string
	qualification      string
	role               obj      // PractitionerRole.code
	specialty          obj      // PractitionerRole.specialty, or nil
	locations          []string // Location ids
	services           []string // HealthcareService ids
	phone              string
}

var doctor = concept("http://terminology.hl7.org/CodeSystem/practitioner-role", "doctor", "Doctor")
var nurse = concept("http://terminology.hl7.org/CodeSystem/practitioner-role", "nurse", "Nurse")

var (
	cardiology      = concept(sct, "394579002", "Cardiology")
	internalMed     = concept(sct, "419192003", "Internal medicine")
	emergencyMed    = concept(sct, "773568002", "Emergency medicine")
	pathology       = concept(sct, "394595002", "Pathology")
	generalMedicine = concept(sct, "394802001", "General medicine")
)

var staffList = []staff{
	{id: "pr-okafor", prefix: "Dr.", family: "Okafor", given: []string{"Adaeze"}, gender: "female", staffNumber: "KBG-1021",
		qualification: "Doctor of Medicine, board certified in cardiovascular disease", role: doctor, specialty: cardiology,
		locations: []string{"kbg-cardiology-clinic"}, services: []string{"hs-cardiology"}, phone: "503-555-0121"},
	{id: "pr-lindgren", prefix: "Dr.", family: "Lindgren", given: []string{"Mattias"}, gender: "male", staffNumber: "KBG-1034",
		qualification: "Doctor of Medicine, internal medicine", role: doctor, specialty: internalMed,
		locations: []string{"kbg-ward-3"}, services: []string{"hs-inpatient-medicine"}, phone: "503-555-0134"},
	{id: "pr-brandt", prefix: "Dr.", family: "Brandt", given: []string{"Felix", "Anton"}, gender: "male", staffNumber: "KBG-1047",
		qualification: "Doctor of Medicine, general internal medicine", role: doctor, specialty: generalMedicine,
		locations: []string{"kbg-medicine-clinic"}, services: []string{"hs-general-medicine"}, phone: "503-555-0147"},
	{id: "pr-castellano", prefix: "Dr.", family: "Castellano", given: []string{"Rosa", "Inés"}, gender: "female", staffNumber: "KBG-1052",
		qualification: "Doctor of Medicine, emergency medicine", role: doctor, specialty: emergencyMed,
		locations: []string{"kbg-emergency"}, services: []string{"hs-emergency"}, phone: "503-555-0152"},
	{id: "pr-whitfield", prefix: "Dr.", family: "Whitfield", given: []string{"Harriet"}, gender: "female", staffNumber: "KBG-1066",
		qualification: "Doctor of Medicine, clinical pathology", role: doctor, specialty: pathology,
		locations: []string{"kbg-laboratory"}, services: []string{"hs-laboratory"}, phone: "503-555-0166"},
	{id: "pr-nakamura", family: "Nakamura", given: []string{"Kenji"}, gender: "male", staffNumber: "KBG-2013",
		qualification: "Registered Nurse", role: nurse, specialty: internalMed,
		locations: []string{"kbg-ward-3"}, services: []string{"hs-inpatient-medicine"}, phone: "503-555-0113"},
	{id: "pr-dubois", family: "Dubois", given: []string{"Claire"}, gender: "female", staffNumber: "KBG-2028",
		qualification: "Registered Nurse, emergency nursing", role: nurse, specialty: emergencyMed,
		locations: []string{"kbg-emergency"}, services: []string{"hs-emergency"}, phone: "503-555-0128"},
	{id: "pr-osei", family: "Osei", given: []string{"Kwame"}, gender: "male", staffNumber: "KBG-3005",
		qualification: "Certified Phlebotomy Technician", role: text("Phlebotomist"), specialty: pathology,
		locations: []string{"kbg-laboratory"}, services: []string{"hs-laboratory"}, phone: "503-555-0105"},
}

// practitionerName returns the display name of a member of staff by id.
func practitionerName(id string) string {
	for _, s := range staffList {
		if s.id == id {
			name := s.given[0] + " " + s.family
			if s.prefix != "" {
				name = s.prefix + " " + name
			}
			return name
		}
	}
	panic("no member of staff " + id)
}

// slotSpec is one bookable slot of a schedule. Slots that an appointment
// of the patient Bundle books are busy.
type slotSpec struct {
	id, schedule, start, end, status string
}

var slots = []slotSpec{
	{"slot-okafor-20250303-0900", "sch-okafor-cardiology", "2025-03-03T09:00:00-08:00", "2025-03-03T09:30:00-08:00", "busy"},
	{"slot-okafor-20250303-0930", "sch-okafor-cardiology", "2025-03-03T09:30:00-08:00", "2025-03-03T10:00:00-08:00", "free"},
	{"slot-okafor-20250303-1000", "sch-okafor-cardiology", "2025-03-03T10:00:00-08:00", "2025-03-03T10:30:00-08:00", "free"},
	{"slot-okafor-20250602-0900", "sch-okafor-cardiology", "2025-06-02T09:00:00-07:00", "2025-06-02T09:30:00-07:00", "busy"},
	{"slot-okafor-20250602-0930", "sch-okafor-cardiology", "2025-06-02T09:30:00-07:00", "2025-06-02T10:00:00-07:00", "free"},
	{"slot-okafor-20250602-1000", "sch-okafor-cardiology", "2025-06-02T10:00:00-07:00", "2025-06-02T10:30:00-07:00", "free"},
	{"slot-brandt-20250305-1400", "sch-brandt-medicine", "2025-03-05T14:00:00-08:00", "2025-03-05T14:20:00-08:00", "busy"},
	{"slot-brandt-20250305-1420", "sch-brandt-medicine", "2025-03-05T14:20:00-08:00", "2025-03-05T14:40:00-08:00", "busy"},
	{"slot-brandt-20250305-1440", "sch-brandt-medicine", "2025-03-05T14:40:00-08:00", "2025-03-05T15:00:00-08:00", "free"},
	{"slot-brandt-20250312-1000", "sch-brandt-medicine", "2025-03-12T10:00:00-07:00", "2025-03-12T10:20:00-07:00", "busy"},
	{"slot-brandt-20250312-1020", "sch-brandt-medicine", "2025-03-12T10:20:00-07:00", "2025-03-12T10:40:00-07:00", "busy"},
	{"slot-brandt-20250312-1040", "sch-brandt-medicine", "2025-03-12T10:40:00-07:00", "2025-03-12T11:00:00-07:00", "free"},
	{"slot-brandt-20250604-1400", "sch-brandt-medicine", "2025-06-04T14:00:00-07:00", "2025-06-04T14:20:00-07:00", "busy"},
	{"slot-brandt-20250604-1420", "sch-brandt-medicine", "2025-06-04T14:20:00-07:00", "2025-06-04T14:40:00-07:00", "free"},
	{"slot-lab-20250603-0800", "sch-lab-phlebotomy", "2025-06-03T08:00:00-07:00", "2025-06-03T08:15:00-07:00", "free"},
	{"slot-lab-20250603-0815", "sch-lab-phlebotomy", "2025-06-03T08:15:00-07:00", "2025-06-03T08:30:00-07:00", "free"},
	{"slot-lab-20250603-0830", "sch-lab-phlebotomy", "2025-06-03T08:30:00-07:00", "2025-06-03T08:45:00-07:00", "free"},
}

func facilityBundle() *bundle {
	b := newBundle("kestrel-bay-facility")
	addOrganizations(b)
	addLocations(b)
	addServices(b)
	addStaff(b)
	addSchedules(b)
	addQuestionnaire(b)
	return b
}

func addOrganizations(b *bundle) {
	orgType := func(code, display string) []obj {
		return list(concept("http://terminology.hl7.org/CodeSystem/organization-type", code, display))
	}
	b.add("Organization", hospitalID,
		field{"identifier", list(identifier(sidOrg, "KBG"))},
		field{"active", true},
		field{"type", orgType("prov", "Healthcare Provider")},
		field{"name", "Kestrel Bay General Hospital"},
		field{"alias", []string{"KBGH"}},
		field{"telecom", list(phone("503-555-0100", "work"), email("info@kestrelbay.example"))},
		field{"address", list(obj{{"use", "work"}, {"line", []string{"1200 Harbor View Road"}}, {"city", "Kestrel Bay"},
			{"state", "OR"}, {"postalCode", "97399"}, {"country", "US"}})},
	)
	b.add("Organization", "kbg-laboratory",
		field{"identifier", list(identifier(sidOrg, "KBG-LAB"))},
		field{"active", true},
		field{"type", orgType("dept", "Hospital Department")},
		field{"name", "Kestrel Bay General Hospital Clinical Laboratory"},
		field{"telecom", list(phone("503-555-0160", "work"))},
		field{"partOf", b.ref(hospitalRef, "Kestrel Bay General Hospital")},
	)
	b.add("Organization", "northwind-health",
		field{"identifier", list(identifier(sidOrg, "PAYER-NWH"))},
		field{"active", true},
		field{"type", orgType("pay", "Payer")},
		field{"name", "Northwind Health Plans"},
		field{"telecom", list(phone("800-555-0199", "work"))},
	)
	b.add("Organization", "cascade-mutual",
		field{"identifier", list(identifier(sidOrg, "PAYER-CMI"))},
		field{"active", true},
		field{"type", orgType("pay", "Payer")},
		field{"name", "Cascade Mutual Insurance"},
		field{"telecom", list(phone("800-555-0188", "work"))},
	)
}

func addLocations(b *bundle) {
	physical := func(code, display string) obj {
		return concept("http://terminology.hl7.org/CodeSystem/location-physical-type", code, display)
	}
	location := func(id, name, description string, kind obj, physicalType obj, partOf string, extra ...field) {
		fields := []field{
			{"identifier", list(identifier(sidLocation, id))},
			{"status", "active"},
			{"name", name},
			{"description", description},
			{"mode", "instance"},
		}
		if kind != nil {
			fields = append(fields, field{"type", list(kind)})
		}
		fields = append(fields, field{"physicalType", physicalType})
		fields = append(fields, extra...)
		fields = append(fields, field{"managingOrganization", b.ref(hospitalRef, "Kestrel Bay General Hospital")})
		if partOf != "" {
			fields = append(fields, field{"partOf", b.ref("Location/"+partOf, "")})
		}
		b.add("Location", id, fields...)
	}
	weekdays := []string{"mon", "tue", "wed", "thu", "fri"}
	clinicHours := list(obj{{"daysOfWeek", weekdays}, {"openingTime", "08:00:00"}, {"closingTime", "17:00:00"}})

	location("kbg-campus", "Kestrel Bay General Hospital campus", "The hospital grounds on Harbor View Road",
		concept(roleCode, "HOSP", "Hospital"), physical("si", "Site"), "",
		field{"address", obj{{"use", "work"}, {"line", []string{"1200 Harbor View Road"}}, {"city", "Kestrel Bay"},
			{"state", "OR"}, {"postalCode", "97399"}, {"country", "US"}}},
		field{"position", obj{{"longitude", -123.9371}, {"latitude", 45.0102}}},
	)
	location("kbg-main-building", "Main building", "Four-storey main building: emergency department, wards, clinics and laboratory",
		nil, physical("bu", "Building"), "kbg-campus",
		field{"position", obj{{"longitude", -123.9368}, {"latitude", 45.0105}}},
	)
	location("kbg-emergency", "Emergency Department", "Ground floor, east entrance; open around the clock",
		concept(roleCode, "ER", "Emergency room"), physical("wi", "Wing"), "kbg-main-building",
		field{"telecom", list(phone("503-555-0111", "work"))},
		field{"hoursOfOperation", list(obj{{"daysOfWeek", []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}}, {"allDay", true}})},
	)
	location("kbg-ward-3", "Ward 3 (Medicine)", "Third floor; adult general medicine beds",
		concept(roleCode, "HU", "Hospital unit"), physical("wa", "Ward"), "kbg-main-building",
		field{"telecom", list(phone("503-555-0130", "work"))},
	)
	location("kbg-room-3-12", "Room 3.12", "Two-bed room on Ward 3",
		nil, physical("ro", "Room"), "kbg-ward-3")
	location("kbg-bed-3-12a", "Bed 3.12A", "Window bed in room 3.12",
		nil, physical("bd", "Bed"), "kbg-room-3-12",
		field{"operationalStatus", coding("http://terminology.hl7.org/CodeSystem/v2-0116", "U", "Unoccupied")})
	location("kbg-bed-3-12b", "Bed 3.12B", "Door-side bed in room 3.12",
		nil, physical("bd", "Bed"), "kbg-room-3-12",
		field{"operationalStatus", coding("http://terminology.hl7.org/CodeSystem/v2-0116", "U", "Unoccupied")})
	location("kbg-cardiology-clinic", "Cardiology Clinic", "Second floor, outpatient wing",
		text("Cardiology outpatient clinic"), physical("wi", "Wing"), "kbg-main-building",
		field{"telecom", list(phone("503-555-0120", "work"))},
		field{"hoursOfOperation", clinicHours},
	)
	location("kbg-medicine-clinic", "General Medicine Clinic", "Second floor, outpatient wing",
		concept(roleCode, "GIM", "General internal medicine clinic"), physical("wi", "Wing"), "kbg-main-building",
		field{"telecom", list(phone("503-555-0140", "work"))},
		field{"hoursOfOperation", clinicHours},
	)
	location("kbg-laboratory", "Clinical Laboratory and Blood Draw", "Ground floor, west corridor",
		concept(roleCode, "HLAB", "Hospital laboratory"), physical("ro", "Room"), "kbg-main-building",
		field{"telecom", list(phone("503-555-0160", "work"))},
		field{"hoursOfOperation", list(obj{{"daysOfWeek", weekdays}, {"openingTime", "07:00:00"}, {"closingTime", "18:00:00"}})},
	)
}

func addServices(b *bundle) {
	service := func(id, name, comment string, specialty obj, location string, appointmentRequired bool, hours []obj) {
		b.add("HealthcareService", id,
			field{"active", true},
			field{"providedBy", b.ref(hospitalRef, "Kestrel Bay General Hospital")},
			field{"type", list(text(name))},
			field{"specialty", list(specialty)},
			field{"location", list(b.ref("Location/"+location, ""))},
			field{"name", name},
			field{"comment", comment},
			field{"appointmentRequired", appointmentRequired},
			field{"availableTime", hours},
		)
	}
	weekdays := list(obj{{"daysOfWeek", []string{"mon", "tue", "wed", "thu", "fri"}},
		{"availableStartTime", "08:00:00"}, {"availableEndTime", "17:00:00"}})
	always := list(obj{{"daysOfWeek", []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}}, {"allDay", true}})

	service("hs-emergency", "Emergency care", "Walk-in and ambulance arrivals, triaged on arrival",
		emergencyMed, "kbg-emergency", false, always)
	service("hs-cardiology", "Cardiology outpatient clinic", "Referral needed; echocardiography on site",
		cardiology, "kbg-cardiology-clinic", true, weekdays)
	service("hs-general-medicine", "General medicine outpatient clinic", "Chronic disease follow-up and new referrals",
		generalMedicine, "kbg-medicine-clinic", true, weekdays)
	service("hs-inpatient-medicine", "Inpatient general medicine", "Adult admissions to Ward 3",
		internalMed, "kbg-ward-3", false, always)
	service("hs-laboratory", "Laboratory and blood draw", "Blood draws by appointment or walk-in; results go to the ordering clinician",
		pathology, "kbg-laboratory", false, list(obj{{"daysOfWeek", []string{"mon", "tue", "wed", "thu", "fri"}},
			{"availableStartTime", "07:00:00"}, {"availableEndTime", "18:00:00"}}))
}

func addStaff(b *bundle) {
	for _, s := range staffList {
		b.add("Practitioner", s.id,
			field{"identifier", list(identifier(sidStaff, s.staffNumber))},
			field{"active", true},
			field{"name", list(humanName(s.prefix, s.family, s.given...))},
			field{"telecom", list(phone(s.phone, "work"))},
			field{"gender", s.gender},
			field{"qualification", list(obj{{"code", text(s.qualification)},
				{"issuer", b.ref(hospitalRef, "Kestrel Bay General Hospital")}})},
		)
	}
	for _, s := range staffList {
		var locations, services []obj
		for _, l := range s.locations {
			locations = append(locations, b.ref("Location/"+l, ""))
		}
		for _, hs := range s.services {
			services = append(services, b.ref("HealthcareService/"+hs, ""))
		}
		var specialty []obj
		if s.specialty != nil {
			specialty = list(s.specialty)
		}
		b.add("PractitionerRole", "role-"+s.id[len("pr-"):],
			field{"identifier", list(identifier(sidStaff, s.staffNumber+"-R1"))},
			field{"active", true},
			field{"period", obj{{"start", "2019-01-07"}}},
			field{"practitioner", b.ref("Practitioner/"+s.id, practitionerName(s.id))},
			field{"organization", b.ref(hospitalRef, "Kestrel Bay General Hospital")},
			field{"code", list(s.role)},
			field{"specialty", specialty},
			field{"location", locations},
			field{"healthcareService", services},
			field{"telecom", list(phone(s.phone, "work"))},
			field{"availableTime", list(obj{{"daysOfWeek", []string{"mon", "tue", "wed", "thu", "fri"}},
				{"availableStartTime", "08:00:00"}, {"availableEndTime", "17:00:00"}})},
		)
	}
}

func addSchedules(b *bundle) {
	schedule := func(id, comment string, service obj, actors ...obj) {
		b.add("Schedule", id,
			field{"active", true},
			field{"serviceType", list(service)},
			field{"actor", actors},
			field{"planningHorizon", period("2025-03-01T00:00:00-08:00", "2025-06-30T23:59:59-07:00")},
			field{"comment", comment},
		)
	}
	schedule("sch-okafor-cardiology", "Dr. Okafor's Monday morning cardiology clinic, 30-minute slots", cardiology,
		b.ref("Practitioner/pr-okafor", practitionerName("pr-okafor")), b.ref("Location/kbg-cardiology-clinic", "Cardiology Clinic"))
	schedule("sch-brandt-medicine", "Dr. Brandt's general medicine clinic, 20-minute slots", generalMedicine,
		b.ref("Practitioner/pr-brandt", practitionerName("pr-brandt")), b.ref("Location/kbg-medicine-clinic", "General Medicine Clinic"))
	schedule("sch-lab-phlebotomy", "Booked blood draws, 15-minute slots; walk-ins are seen between them", text("Blood draw"),
		b.ref("Location/kbg-laboratory", "Clinical Laboratory and Blood Draw"), b.ref("HealthcareService/hs-laboratory", "Laboratory and blood draw"))

	for _, s := range slots {
		b.add("Slot", s.id,
			field{"schedule", b.ref("Schedule/"+s.schedule, "")},
			field{"status", s.status},
			field{"start", s.start},
			field{"end", s.end},
		)
	}
}

// satisfaction is the answer scale of the feedback questionnaire.
var satisfaction = []obj{
	coding(hospitalBase+"/CodeSystem/satisfaction", "5", "Excellent"),
	coding(hospitalBase+"/CodeSystem/satisfaction", "4", "Good"),
	coding(hospitalBase+"/CodeSystem/satisfaction", "3", "Fair"),
	coding(hospitalBase+"/CodeSystem/satisfaction", "2", "Poor"),
	coding(hospitalBase+"/CodeSystem/satisfaction", "1", "Very poor"),
}

var waitTimes = []obj{
	coding(hospitalBase+"/CodeSystem/wait-time", "under-15", "Less than 15 minutes"),
	coding(hospitalBase+"/CodeSystem/wait-time", "15-30", "15 to 30 minutes"),
	coding(hospitalBase+"/CodeSystem/wait-time", "30-60", "30 minutes to an hour"),
	coding(hospitalBase+"/CodeSystem/wait-time", "over-60", "More than an hour"),
}

func answerOptions(codings []obj) []obj {
	options := make([]obj, len(codings))
	for i, c := range codings {
		options[i] = obj{{"valueCoding", c}}
	}
	return options
}

func addQuestionnaire(b *bundle) {
	b.add("Questionnaire", "patient-feedback",
		field{"url", feedbackURL},
		field{"identifier", list(identifier(hospitalBase+"/sid/questionnaire", "PFQ-2025"))},
		field{"version", "2025.1"},
		field{"name", "PatientFeedback"},
		field{"title", "Tell us about your visit"},
		field{"status", "active"},
		field{"subjectType", []string{"Patient"}},
		field{"date", "2025-01-15"},
		field{"publisher", "Kestrel Bay General Hospital, Patient Experience Office"},
		field{"description", "Short survey sent to patients after a clinic visit or a hospital stay."},
		field{"item", list(
			obj{{"linkId", "overall"}, {"text", "How would you rate your overall experience?"}, {"type", "choice"},
				{"required", true}, {"answerOption", answerOptions(satisfaction)}},
			obj{{"linkId", "explained"}, {"text", "How well did our staff explain your care and treatment?"}, {"type", "choice"},
				{"required", true}, {"answerOption", answerOptions(satisfaction)}},
			obj{{"linkId", "wait"}, {"text", "How long did you wait past your appointment or arrival time?"}, {"type", "choice"},
				{"answerOption", answerOptions(waitTimes)}},
			obj{{"linkId", "recommend"}, {"text", "Would you recommend Kestrel Bay General Hospital to friends and family?"},
				{"type", "boolean"}, {"required", true}},
			obj{{"linkId", "comments"}, {"text", "Is there anything else you would like to tell us?"}, {"type", "text"}},
		)},
	)
}
