package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// Paths of the needed files inside the npm tarball.
const (
	resourcesPath   = "package/dist/fhir/r4/profiles-resources.json"
	typesPath       = "package/dist/fhir/r4/profiles-types.json"
	searchPath      = "package/dist/fhir/r4/search-parameters.json"
	compartmentPath = "package/dist/fhir/r4/compartmentdefinition-patient.json"
)

// source is the decoded part of the package that the generator uses.
type source struct {
	resources   bundle
	types       bundle
	search      bundle
	compartment compartmentDefinition
}

type bundle struct {
	Entry []struct {
		Resource json.RawMessage `json:"resource"`
	} `json:"entry"`
}

type structureDefinition struct {
	ResourceType   string `json:"resourceType"`
	Name           string `json:"name"`
	Type           string `json:"type"`
	Kind           string `json:"kind"`
	Abstract       bool   `json:"abstract"`
	Derivation     string `json:"derivation"`
	BaseDefinition string `json:"baseDefinition"`
	FHIRVersion    string `json:"fhirVersion"`
	Snapshot       struct {
		Element []elementDefinition `json:"element"`
	} `json:"snapshot"`
}

type elementDefinition struct {
	Path string `json:"path"`
	Base struct {
		Path string `json:"path"`
	} `json:"base"`
	SliceName        string `json:"sliceName"`
	Min              int    `json:"min"`
	Max              string `json:"max"`
	ContentReference string `json:"contentReference"`
	IsSummary        bool   `json:"isSummary"`
	IsModifier       bool   `json:"isModifier"`
	Type             []struct {
		Code      string `json:"code"`
		Extension []struct {
			URL      string `json:"url"`
			ValueURL string `json:"valueUrl"`
		} `json:"extension"`
		Profile       []string `json:"profile"`
		TargetProfile []string `json:"targetProfile"`
	} `json:"type"`
}

type searchParameter struct {
	ResourceType string   `json:"resourceType"`
	ID           string   `json:"id"`
	URL          string   `json:"url"`
	Version      string   `json:"version"`
	Name         string   `json:"name"`
	Code         string   `json:"code"`
	Type         string   `json:"type"`
	Expression   string   `json:"expression"`
	XPathUsage   string   `json:"xpathUsage"`
	Base         []string `json:"base"`
	Target       []string `json:"target"`
	Modifier     []string `json:"modifier"`
	Comparator   []string `json:"comparator"`
	Chain        []string `json:"chain"`
	MultipleOr   *bool    `json:"multipleOr"`
	MultipleAnd  *bool    `json:"multipleAnd"`
	Component    []struct {
		Definition string `json:"definition"`
		Expression string `json:"expression"`
	} `json:"component"`
}

type compartmentDefinition struct {
	ResourceType string `json:"resourceType"`
	Code         string `json:"code"`
	Resource     []struct {
		Code  string   `json:"code"`
		Param []string `json:"param"`
	} `json:"resource"`
}

// readSource verifies the tarball's checksum and decodes the four needed
// files from it without extracting anything to disk.
func readSource(tarball string) (*source, error) {
	raw, err := os.ReadFile(tarball) // #nosec G304 -- the tarball is the operator-supplied input, checked against sourceSHA256 below
	if err != nil {
		return nil, fmt.Errorf("read tarball: %w", err)
	}
	sum := sha256.Sum256(raw)
	if got := hex.EncodeToString(sum[:]); got != sourceSHA256 {
		return nil, fmt.Errorf("tarball %s has sha256 %s, expected %s for %s@%s: pass the pinned version, or review the new one and update sourceSHA256",
			tarball, got, sourceSHA256, sourcePackage, sourceVersion)
	}

	gz, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("open gzip stream of %s: %w", tarball, err)
	}
	defer gz.Close()

	var src source
	targets := map[string]any{
		resourcesPath:   &src.resources,
		typesPath:       &src.types,
		searchPath:      &src.search,
		compartmentPath: &src.compartment,
	}
	found := map[string]bool{}

	tr := tar.NewReader(gz)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read tar entry of %s: %w", tarball, err)
		}
		target, ok := targets[hdr.Name]
		if !ok {
			continue
		}
		if err := json.NewDecoder(tr).Decode(target); err != nil {
			return nil, fmt.Errorf("decode %s from %s: %w", hdr.Name, tarball, err)
		}
		found[hdr.Name] = true
	}

	for name := range targets {
		if !found[name] {
			return nil, fmt.Errorf("tarball %s has no entry %s", tarball, name)
		}
	}
	if src.compartment.ResourceType != "CompartmentDefinition" || src.compartment.Code != "Patient" {
		return nil, fmt.Errorf("%s is a %s for %q, expected the Patient CompartmentDefinition",
			compartmentPath, src.compartment.ResourceType, src.compartment.Code)
	}
	return &src, nil
}
