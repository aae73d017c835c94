package formats

import (
	"bytes"
	"errors"
	"fmt"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// Splunk RUM's session recorder 3.x reuses the rr-web.* attribute names but
// its body is Splunk's own segment format (CBOR, or JSON {assets, events}),
// not rrweb events. Converting it is not ours to do; storing it would make a
// replay that cannot play. So its records are recognised and refused, with a
// message that says what arrived.
const (
	SplunkScope       = "splunk.rr-web"
	SplunkSessionAttr = "splunk.rumSessionId"
)

// ErrSplunkSegment refuses Splunk RUM recorder segments.
var ErrSplunkSegment = errors.New("Splunk RUM segment format is not rrweb and is not accepted: record with HyperDX, Grafana Faro or an OTel SDK sending session_replay.chunk records (see the README)")

type splunk struct{}

// Claims the records of Splunk's scope, rr-web.* records of a Splunk RUM
// resource, and rr-web.* bodies that are segments (a CBOR map, or a JSON
// object that opens with assets or events).
func (splunk) Claims(r Record) bool {
	if r.Scope.Name() == SplunkScope {
		return true
	}
	rrWebRecord := r.Scope.Name() == RRWebScope || has(r.Log.Attributes(), RRWebEventAttr)
	if !rrWebRecord {
		return false
	}
	return has(r.Resource.Attributes(), SplunkSessionAttr) || isSegment(r.Log.Body())
}

func (splunk) Add(r Record) error {
	return fmt.Errorf("%w (scope %q)", ErrSplunkSegment, r.Scope.Name())
}

func (splunk) Chunks() []Chunk { return nil }

func isSegment(v pcommon.Value) bool {
	var b []byte
	switch v.Type() {
	case pcommon.ValueTypeBytes:
		b = v.Bytes().AsRaw()
		// CBOR map (major type 5): no JSON text starts with these bytes.
		if len(b) > 0 && b[0] >= 0xa0 && b[0] <= 0xbf {
			return true
		}
	case pcommon.ValueTypeStr:
		s := v.Str()
		b = []byte(s[:min(len(s), 64)]) // the opening is enough
	default:
		return false
	}
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 || b[0] != '{' {
		return false
	}
	b = bytes.TrimLeft(b[1:], " \t\r\n")
	return bytes.HasPrefix(b, []byte(`"assets"`)) || bytes.HasPrefix(b, []byte(`"events"`))
}
