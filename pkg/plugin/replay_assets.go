package plugin

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/seed/sessionreplay/pkg/assetref"
	"github.com/seed/sessionreplay/pkg/store"
)

// The panel's way to assets (docs/plugin-api.md): the replay stream with
// assets=refs sends a chunk that holds assets as stored, its events with an
// empty string token `""` where each asset was cut out, and the references
// next to them; the panel fetches each asset once from GET assets/<hash>
// (the browser keeps it: the URL names the content) and puts it between the
// quotes before it parses the events.

// AssetCacheControl is the Cache-Control of an asset. An asset's URL names
// its content (SHA-256), so it never changes: a year, immutable. "private"
// because it is a site's recorded content behind Grafana's login, and
// because Grafana's server passes a plugin resource's Cache-Control only
// when it says private (and not public) and X-Grafana-Cache is set; any
// other answer it rewrites to no-store (grafana/grafana
// pkg/middleware/middleware.go, AddDefaultResponseHeaders and
// allowCacheControl).
const AssetCacheControl = "private, max-age=31536000, immutable"

// emptyToken is what an asset leaves in stored data (assetref.Inline).
const emptyToken = `""`

// lineCarriesRefs says whether a chunk can go to the panel as stored: every
// reference at an empty string token (rows of the older placeholder form
// are re-inlined here), no newline in the data (it is sent as is, on one
// NDJSON line) and a line within MaxLineBytes (longer chunks are re-inlined
// and split as writeChunk does).
func lineCarriesRefs(c *store.Chunk) bool {
	if len(c.Data)+len(c.Refs)*90+512 > MaxLineBytes || bytes.IndexByte(c.Data, '\n') >= 0 {
		return false
	}
	for _, r := range c.Refs {
		off := int(r.Offset)
		if off+len(emptyToken) > len(c.Data) || string(c.Data[off:off+len(emptyToken)]) != emptyToken {
			return false
		}
	}
	return true
}

// assetLineRef is one reference on a chunk line: the asset's hash and where
// its empty string token starts in the line's events text, counted in UTF-16
// code units as JavaScript strings index (the panel splices the text it
// decoded, not bytes).
type assetLineRef struct {
	Hash string `json:"hash"`
	At   int    `json:"at"`
}

// writeChunkWithRefs writes a chunk as stored, with its references: the
// chunk line of writeChunk with "site" and "assets" before "events", which
// are the stored bytes.
func writeChunkWithRefs(s *ndjsonStream, c *store.Chunk) error {
	head, err := chunkHead(c)
	if err != nil {
		return err
	}
	refs := make([]assetLineRef, len(c.Refs))
	units, done := 0, 0
	for i, r := range c.Refs {
		units += utf16Units(c.Data[done:r.Offset])
		done = int(r.Offset)
		refs[i] = assetLineRef{Hash: r.Hash.String(), At: units}
	}
	extra, err := json.Marshal(struct {
		Site   string         `json:"site"`
		Assets []assetLineRef `json:"assets"`
	}{c.ServiceName, refs})
	if err != nil {
		return err
	}
	// head ends in `,"events":`; the site and assets go in before it
	cut := bytes.LastIndex(head, []byte(`"events":`))
	line := make([]byte, 0, len(head)+len(extra)+len(c.Data)+2)
	line = append(line, head[:cut]...)
	line = append(line, extra[1:len(extra)-1]...)
	line = append(line, ',')
	line = append(line, head[cut:]...)
	line = append(line, c.Data...)
	return s.line(append(line, '}'))
}

// utf16Units counts the UTF-16 code units of UTF-8 text: one per character,
// two for those outside the Basic Multilingual Plane (4-byte sequences).
func utf16Units(b []byte) int {
	n := 0
	for _, c := range b {
		switch {
		case c&0xC0 == 0x80: // continuation byte
		case c >= 0xF0:
			n += 2
		default:
			n++
		}
	}
	return n
}

// handleAsset serves GET assets/<hash>?site=<site>: one asset's value (the
// text between the quotes of the string it was cut out of, escapes as
// stored), cacheable for good, with its hash as ETag (If-None-Match: 304).
func (d *Datasource) handleAsset(w http.ResponseWriter, r *http.Request) {
	raw := r.PathValue("hash")
	var h assetref.Hash
	if n, err := hex.Decode(h[:], []byte(raw)); err != nil || n != len(h) || len(raw) != 2*len(h) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("assets: %q is not a SHA-256 in hex", raw))
		return
	}
	site := r.URL.Query().Get("site")
	etag := `"` + h.String() + `"`
	cacheable := func() {
		w.Header().Set("Cache-Control", AssetCacheControl)
		w.Header().Set("X-Grafana-Cache", "y") // Grafana keeps our Cache-Control only with it (AssetCacheControl)
		w.Header().Set("ETag", etag)
	}
	if etagMatches(r.Header.Get("If-None-Match"), etag) {
		cacheable()
		w.WriteHeader(http.StatusNotModified)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), d.settings.QueryTimeout)
	defer cancel()
	value, ok, err := d.reader.Asset(ctx, site, h)
	switch {
	case err != nil:
		writeError(w, httpStatus(downstream(err)), err.Error())
		return
	case !ok:
		w.Header().Set("Cache-Control", "no-store")
		writeError(w, http.StatusNotFound, fmt.Sprintf("site %q has no asset %s", site, h))
		return
	}
	cacheable()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(value)
}

// etagMatches reads an If-None-Match list (weak validators compare equal).
func etagMatches(header, etag string) bool {
	for _, v := range strings.Split(header, ",") {
		v = strings.TrimPrefix(strings.TrimSpace(v), "W/")
		if v == etag || v == "*" {
			return true
		}
	}
	return false
}
