// Command gen writes the Bundles of Ward's sample hospital, Kestrel Bay
// General Hospital, into the current directory. 01-facility.json holds
// the organizations, places, services, staff, schedules, slots and the
// feedback questionnaire. 02-patients.json holds the patients with their
// visits, lab work, conditions, prescriptions, insurance, billing and
// feedback. Everyone and everything in them is invented.
//
// Run it with go generate in testdata/hospital. The output is
// deterministic, so a regenerated file differs only where this program
// changed.
package main

import (
	"fmt"
	"os"
)

func main() {
	files := []struct {
		name   string
		bundle *bundle
	}{
		{"01-facility.json", facilityBundle()},
		{"02-patients.json", patientsBundle()},
	}
	for _, f := range files {
		data, err := f.bundle.json()
		if err != nil {
			fmt.Fprintln(os.Stderr, "gen:", err)
			os.Exit(1)
		}
		if err := os.WriteFile(f.name, data, 0o644); err != nil { // #nosec G306 -- sample data committed to the repository, meant to be readable by all
			fmt.Fprintln(os.Stderr, "gen:", err)
			os.Exit(1)
		}
	}
}

func patientsBundle() *bundle {
	b := newBundle("kestrel-bay-patients")
	for _, p := range patients {
		addPatient(b, p)
	}
	return b
}
