package loader

import (
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"path"
	"strings"
)

// Rank is the step of a load in which a file is sent. Every file of one
// rank is stored before any file of the next rank is sent, because
// patient data refers to the organizations, locations and practitioners
// of earlier ranks, often through conditional references such as
// Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|9999963991 that
// resolve only when the target is already stored.
type Rank int

const (
	// RankOrganizations holds files of Organization and Location
	// resources only, and files named hospitalInformation*, as Synthea
	// names them.
	RankOrganizations Rank = iota
	// RankPractitioners holds files of Practitioner and PractitionerRole
	// resources, possibly with Organization and Location, and files named
	// practitionerInformation*.
	RankPractitioners
	// RankOther holds everything else.
	RankOther
)

// rankByName ranks a file by its base name alone: Synthea's reference data
// files, and NDJSON files named after their resource type as Bulk Data
// exports name them (Organization.ndjson, Location.000.ndjson).
func rankByName(name string, f format) (Rank, bool) {
	base := path.Base(name)
	switch {
	case strings.HasPrefix(base, "hospitalInformation"):
		return RankOrganizations, true
	case strings.HasPrefix(base, "practitionerInformation"):
		return RankPractitioners, true
	case f != formatNDJSON:
		return RankOther, false
	}
	end := strings.IndexFunc(base, func(r rune) bool { return !isASCIILetter(r) })
	if end < 0 {
		end = len(base)
	}
	return rankByTypes([]string{base[:end]}), true
}

// rankByTypes ranks a file by the resource types it contains.
func rankByTypes(types []string) Rank {
	if len(types) == 0 {
		return RankOther
	}
	rank := RankOrganizations
	for _, t := range types {
		switch t {
		case "Organization", "Location":
		case "Practitioner", "PractitionerRole":
			rank = RankPractitioners
		default:
			return RankOther
		}
	}
	return rank
}

// rankSources reads every JSON member whose name does not decide its rank
// and returns the rank of each member by name.
func rankSources(ctx context.Context, fsys fs.FS, sources []source) (map[string]Rank, error) {
	ranks := map[string]Rank{}
	for _, src := range sources {
		err := eachMember(ctx, fsys, src, func(m member) error {
			if rank, ok := rankByName(m.name, m.format); ok {
				ranks[m.name] = rank
				return nil
			}
			r, err := m.open()
			if err != nil {
				return err
			}
			ranks[m.name] = rankOfJSON(r)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return ranks, nil
}

// rankOfJSON ranks a JSON file by the resource types it contains. It
// stops reading at the first entry that is not reference data, which in
// a Synthea patient Bundle is the first one, so most files are barely
// read. Content it cannot decode ranks as RankOther; the load step then
// reports the problem.
func rankOfJSON(r io.Reader) Rank {
	decoder := json.NewDecoder(r)
	if token, err := decoder.Token(); err != nil || token != json.Delim('{') {
		return RankOther
	}

	resourceType, bundleType := "", ""
	var entryTypes []string
	for decoder.More() {
		key, err := decoder.Token()
		if err != nil {
			return RankOther
		}
		switch key {
		case "resourceType":
			if err := decoder.Decode(&resourceType); err != nil {
				return RankOther
			}
			if resourceType != "Bundle" {
				return rankByTypes([]string{resourceType})
			}
		case "type":
			if err := decoder.Decode(&bundleType); err != nil || storesBundleItself(bundleType) {
				return RankOther
			}
		case "entry":
			if token, err := decoder.Token(); err != nil || token != json.Delim('[') {
				return RankOther
			}
			for decoder.More() {
				var e struct {
					Resource resourceHeader `json:"resource"`
				}
				if err := decoder.Decode(&e); err != nil {
					return RankOther
				}
				entryTypes = append(entryTypes, e.Resource.ResourceType)
				if rankByTypes(entryTypes[len(entryTypes)-1:]) == RankOther {
					return RankOther
				}
			}
			if _, err := decoder.Token(); err != nil {
				return RankOther
			}
		default:
			var skip json.RawMessage
			if err := decoder.Decode(&skip); err != nil {
				return RankOther
			}
		}
	}
	if resourceType != "Bundle" {
		return RankOther
	}
	return rankByTypes(entryTypes)
}

// storesBundleItself reports whether a Bundle of this type is a resource to
// store as it is (a document or a message) rather than a set of entries
// to write.
func storesBundleItself(bundleType string) bool {
	return bundleType == "document" || bundleType == "message"
}

func isASCIILetter(r rune) bool {
	return 'A' <= r && r <= 'Z' || 'a' <= r && r <= 'z'
}
