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
			ranks[m.name] = rankByTypes(typesInJSON(r))
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return ranks, nil
}

// typesInJSON returns the resource types of a Bundle's entries, or the
// type of a single resource. It returns nil for content it cannot decode,
// which the load step then reports.
func typesInJSON(r io.Reader) []string {
	var doc struct {
		ResourceType string `json:"resourceType"`
		Type         string `json:"type"`
		Entry        []struct {
			Resource struct {
				ResourceType string `json:"resourceType"`
			} `json:"resource"`
		} `json:"entry"`
	}
	if err := json.NewDecoder(r).Decode(&doc); err != nil {
		return nil
	}
	if doc.ResourceType != "Bundle" || storesBundleItself(doc.Type) {
		return []string{doc.ResourceType}
	}
	types := make([]string, 0, len(doc.Entry))
	for _, e := range doc.Entry {
		types = append(types, e.Resource.ResourceType)
	}
	return types
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
