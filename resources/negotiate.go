package resources

import (
	"mime"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// Media types Ward reads and writes. XML is recognised only to reject it
// with the right status.
const (
	mediaFHIRJSON  = "application/fhir+json"
	mediaJSON      = "application/json"
	mediaJSONPatch = "application/json-patch+json"
)

// format is the outcome of content negotiation for one response.
type format struct {
	mediaType string // application/fhir+json or application/json
	pretty    bool
}

// negotiate picks the response media type from _format, which overrides the
// Accept header as the spec requires. It returns an apiError with 406 when the
// client accepts only formats Ward cannot write (XML, Turtle).
func negotiate(c *gin.Context) (format, error) {
	f := format{mediaType: mediaFHIRJSON, pretty: c.Query("_pretty") == "true"}

	if value := c.Query("_format"); value != "" {
		mediaType, ok := formatParam(value)
		if !ok {
			return f, notAcceptable("the _format value %q is not supported; use json, application/fhir+json or application/json", value)
		}
		f.mediaType = mediaType
		return f, nil
	}

	accept := c.GetHeader("Accept")
	if accept == "" {
		return f, nil
	}
	mediaType, ok := acceptJSON(accept)
	if !ok {
		return f, notAcceptable("the Accept header %q names no supported format; use application/fhir+json or application/json", accept)
	}
	f.mediaType = mediaType
	return f, nil
}

// formatParam maps a _format value to a media type. The spec allows the
// short forms json, xml and ttl as well as full media types.
func formatParam(value string) (string, bool) {
	mediaType, _, err := mime.ParseMediaType(value)
	if err != nil {
		mediaType = strings.ToLower(strings.TrimSpace(value))
	}
	switch mediaType {
	case "json", mediaFHIRJSON, "text/json":
		return mediaFHIRJSON, true
	case mediaJSON:
		return mediaJSON, true
	}
	return "", false
}

// acceptJSON reports whether an Accept header admits a JSON response, and
// which media type to label it with. Quality values are honoured only as far
// as q=0 excluding a type: among acceptable types Ward has one body to send.
func acceptJSON(header string) (string, bool) {
	wildcard := false
	for _, part := range strings.Split(header, ",") {
		mediaType, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		if params["q"] == "0" || params["q"] == "0.0" || params["q"] == "0.00" || params["q"] == "0.000" {
			continue
		}
		if !isR4(params) {
			continue
		}
		switch mediaType {
		case mediaFHIRJSON, "json":
			return mediaFHIRJSON, true
		case mediaJSON, "text/json":
			return mediaJSON, true
		case "*/*", "application/*":
			wildcard = true
		}
	}
	if wildcard {
		return mediaFHIRJSON, true
	}
	return "", false
}

// isR4 reports whether a media type's fhirVersion parameter, if any, names
// R4. The spec's version parameter uses the major.minor form, 4.0.
func isR4(params map[string]string) bool {
	version, ok := params["fhirversion"]
	return !ok || version == "4.0" || version == "4.0.1"
}

// checkContentType rejects a request body that is not FHIR JSON with 415.
// A missing Content-Type is accepted as JSON, since many clients omit it.
func checkContentType(r *http.Request, allowed ...string) error {
	header := r.Header.Get("Content-Type")
	if header == "" {
		return nil
	}
	mediaType, params, err := mime.ParseMediaType(header)
	if err != nil {
		return unsupportedMediaType("the Content-Type header %q is malformed", header)
	}
	if !isR4(params) {
		return unsupportedMediaType("the body is FHIR version %s; this server speaks FHIR R4 (fhirVersion=4.0)", params["fhirversion"])
	}
	if charset, ok := params["charset"]; ok && !strings.EqualFold(charset, "utf-8") {
		return unsupportedMediaType("the charset %q is not supported; FHIR JSON is UTF-8", charset)
	}
	for _, want := range allowed {
		if mediaType == want {
			return nil
		}
	}
	return unsupportedMediaType("the Content-Type %q is not supported here; use %s", mediaType, strings.Join(allowed, " or "))
}

// preferReturn returns the return= value of the Prefer header:
// "minimal", "representation" (the default) or "OperationOutcome".
func preferReturn(r *http.Request) string {
	for _, header := range r.Header.Values("Prefer") {
		for _, part := range strings.Split(header, ";") {
			for _, item := range strings.Split(part, ",") {
				name, value, ok := strings.Cut(strings.TrimSpace(item), "=")
				if !ok || !strings.EqualFold(strings.TrimSpace(name), "return") {
					continue
				}
				value = strings.Trim(strings.TrimSpace(value), `"`)
				switch value {
				case "minimal", "representation", "OperationOutcome":
					return value
				}
			}
		}
	}
	return "representation"
}

// preferStrict reports whether the client sent Prefer: handling=strict, which
// turns unknown or unsupported query parameters into errors.
func preferStrict(r *http.Request) bool {
	for _, header := range r.Header.Values("Prefer") {
		for _, item := range strings.FieldsFunc(header, func(r rune) bool { return r == ',' || r == ';' }) {
			name, value, ok := strings.Cut(strings.TrimSpace(item), "=")
			if ok && strings.EqualFold(strings.TrimSpace(name), "handling") && strings.TrimSpace(value) == "strict" {
				return true
			}
		}
	}
	return false
}
