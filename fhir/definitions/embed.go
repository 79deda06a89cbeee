package definitions

import (
	"bytes"
	"compress/gzip"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

//go:embed types.json elements.json.gz searchparameters.json.gz compartment-patient.json
var files embed.FS

// mustDecode decodes one embedded file, gunzipping it when its name ends in
// .gz. The files are generated and tested, so a failure is a broken build
// and panics.
func mustDecode(name string, v any) {
	raw, err := files.ReadFile(name)
	if err != nil {
		panic(fmt.Sprintf("definitions: read embedded %s: %v", name, err))
	}

	var r io.Reader = bytes.NewReader(raw)
	if strings.HasSuffix(name, ".gz") {
		gz, err := gzip.NewReader(r)
		if err != nil {
			panic(fmt.Sprintf("definitions: open gzip stream of embedded %s: %v", name, err))
		}
		defer gz.Close()
		r = gz
	}

	if err := json.NewDecoder(r).Decode(v); err != nil {
		panic(fmt.Sprintf("definitions: decode embedded %s: %v", name, err))
	}
}
