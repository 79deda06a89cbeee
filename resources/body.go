package resources

import (
	"errors"
	"io"
	"net"
	"net/http"
)

// readBody reads a request body within the limit that limitBody set. A body
// over the limit is 413, and one the client was too slow to send is 408.
func readBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(r.Body)
	if err == nil {
		return body, nil
	}

	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, newAPIError(http.StatusRequestEntityTooLarge, "too-costly", nil,
			"the request body exceeds the limit of %d bytes", tooLarge.Limit)
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return nil, newAPIError(http.StatusRequestTimeout, "timeout", nil,
			"the request body did not arrive in time; send it without pauses")
	}
	return nil, badRequest("reading the request body failed: %v", err)
}

// checkIfMatch returns 412 when an If-Match version (0 for none) is not the
// current version of a resource; current is 0 when the resource never
// existed.
func checkIfMatch(ifMatch, current int64, resourceType, id string) error {
	switch {
	case ifMatch == 0 || ifMatch == current:
		return nil
	case current == 0:
		return preconditionFailed("If-Match names version %d but %s/%s does not exist", ifMatch, resourceType, id)
	default:
		return preconditionFailed("If-Match names version %d but the current version of %s/%s is %d", ifMatch, resourceType, id, current)
	}
}
