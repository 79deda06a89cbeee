package fhir

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

const xhtmlNamespace = "http://www.w3.org/1999/xhtml"

// narrativeElements are the XHTML elements that invariant txt-1 allows in
// Narrative.div. They are the basic formatting elements of HTML 4.0
// chapters 7 to 11 without section 9.4 (ins and del), with tables, lists, a
// and img. The font-style elements b, i, big, small and tt and the element
// hr are allowed too, because the R4 examples use them throughout.
var narrativeElements = map[string]bool{
	"a": true, "abbr": true, "acronym": true, "address": true, "area": true, "b": true,
	"bdo": true, "big": true, "blockquote": true, "br": true, "caption": true, "cite": true,
	"code": true, "col": true, "colgroup": true, "dd": true, "dfn": true, "div": true,
	"dl": true, "dt": true, "em": true, "h1": true, "h2": true, "h3": true, "h4": true,
	"h5": true, "h6": true, "hr": true, "i": true, "img": true, "kbd": true, "li": true,
	"map": true, "ol": true, "p": true, "pre": true, "q": true, "samp": true, "small": true,
	"span": true, "strong": true, "sub": true, "sup": true, "table": true, "tbody": true,
	"td": true, "tfoot": true, "th": true, "thead": true, "tr": true, "tt": true, "ul": true,
	"var": true,
}

// checkNarrative checks the XHTML of a Narrative.div. It returns the issue
// code and the problem, or "" when the XHTML is acceptable. jsonformat
// accepts any string here, and narrative is shown to people, so a script
// or an event handler attribute in it would run in their browsers.
func checkNarrative(div string) (code, problem string) {
	decoder := xml.NewDecoder(strings.NewReader(div))
	decoder.Strict = true
	// Named HTML entities such as &nbsp; are common in narrative; they are
	// decoded rather than rejected.
	decoder.Entity = xml.HTMLEntity

	depth := 0
	roots := 0
	hasContent := false
	for {
		token, err := decoder.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "value", "the narrative is not well-formed XHTML: " + err.Error()
		}

		switch t := token.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
				if roots > 1 || t.Name.Local != "div" || t.Name.Space != xhtmlNamespace {
					return "invariant", fmt.Sprintf(`the narrative must be one <div xmlns=%q> element, found another <%s>`, xhtmlNamespace, t.Name.Local)
				}
			}
			if t.Name.Space != xhtmlNamespace {
				return "invariant", fmt.Sprintf("txt-1: element <%s> is not in the XHTML namespace", t.Name.Local)
			}
			if !narrativeElements[t.Name.Local] {
				return "invariant", fmt.Sprintf("txt-1: element <%s> is not allowed in narrative", t.Name.Local)
			}
			if problem := checkNarrativeAttributes(t); problem != "" {
				return "invariant", problem
			}
			if t.Name.Local == "img" {
				hasContent = true
			}
			depth++
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 0 && strings.TrimSpace(string(t)) != "" {
				return "invariant", "the narrative has text outside its <div> element"
			}
			if strings.TrimSpace(string(t)) != "" {
				hasContent = true
			}
		case xml.ProcInst, xml.Directive:
			return "invariant", "txt-1: the narrative must not contain processing instructions or DOCTYPE declarations"
		}
	}

	if !hasContent {
		return "invariant", "txt-2: the narrative must have some non-whitespace content"
	}
	return "", ""
}

func checkNarrativeAttributes(element xml.StartElement) string {
	for _, attr := range element.Attr {
		name := strings.ToLower(attr.Name.Local)
		if strings.HasPrefix(name, "on") {
			return fmt.Sprintf("txt-1: event handler attribute %s on <%s> is not allowed in narrative", attr.Name.Local, element.Name.Local)
		}
		if name == "href" || name == "src" {
			scheme := strings.ToLower(strings.TrimSpace(attr.Value))
			if strings.HasPrefix(scheme, "javascript:") || strings.HasPrefix(scheme, "vbscript:") {
				return fmt.Sprintf("txt-1: a script URL in %s on <%s> is not allowed in narrative", attr.Name.Local, element.Name.Local)
			}
		}
	}
	return ""
}
