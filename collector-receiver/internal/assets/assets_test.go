package assets_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seed/sessionreplay/collector-receiver/internal/assets"
	"github.com/seed/sessionreplay/pkg/assetref"
	"github.com/seed/sessionreplay/pkg/fixtures"
)

func inline(t *testing.T, ex assets.Extracted) []byte {
	t.Helper()
	values := map[assetref.Hash][]byte{}
	for _, a := range ex.Assets {
		values[a.Hash] = a.Value
	}
	out, err := assetref.Inline(ex.Data, ex.Refs, func(h assetref.Hash) ([]byte, bool) { v, ok := values[h]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestEveryRealRecordingComesBackByteEqualAfterExtraction(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(fixtures.Dir(t), "rrweb", "*.events.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no recordings: %v", err)
	}
	var before, after int
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		ex, err := assets.Extractor{}.Extract(data)
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(f), err)
		}
		if !json.Valid(ex.Data) {
			t.Fatalf("%s: stored data is not valid JSON", filepath.Base(f))
		}
		if got := inline(t, ex); !bytes.Equal(got, data) {
			t.Fatalf("%s: re-inlined data differs from the original", filepath.Base(f))
		}
		values := map[assetref.Hash]int{}
		for _, a := range ex.Assets {
			// the token's quotes stay in the chunk
			if len(a.Value)+2 < assets.DefaultMinBytes || a.Value[0] == '"' || assetref.Of(a.Value) != a.Hash {
				t.Fatalf("%s: asset %s is not a large string keyed by its hash", filepath.Base(f), a.Hash)
			}
			values[a.Hash] = len(a.Value)
		}
		// a reader of the chunk and its assets reads no byte more than the chunk
		n := len(ex.Data)
		for _, r := range ex.Refs {
			n += values[r.Hash]
		}
		if n != len(data) {
			t.Fatalf("%s: stored data and the values it refers to are %d bytes, the chunk %d", filepath.Base(f), n, len(data))
		}
		before += len(data)
		after += len(ex.Data)
	}
	t.Logf("%d recordings: %d bytes, %d without their assets", len(files), before, after)
}

func TestStylesheetsOfTheSmartxRecordingBecomeAssets(t *testing.T) {
	data := fixtures.Read(t, "rrweb", "smartx-90s.events.json")
	ex, err := assets.Extractor{}.Extract(data)
	if err != nil {
		t.Fatal(err)
	}
	css := 0
	for _, a := range ex.Assets {
		if bytes.Contains(a.Value, []byte("{")) && bytes.Contains(a.Value, []byte("}")) {
			css += len(a.Value)
		}
	}
	// the issue measured stylesheet text at 60-65% of these bytes
	if css < len(data)/2 {
		t.Fatalf("stylesheet assets are %d of %d bytes: the CSS stayed in the chunk", css, len(data))
	}
	if len(ex.Data) > len(data)/2 {
		t.Fatalf("stored %d of %d bytes", len(ex.Data), len(data))
	}
}

func TestSameValueInTwoPageLoadsIsOneAsset(t *testing.T) {
	css := strings.Repeat(".a{color:red}", 200)
	data := []byte(`[{"type":2,"data":{"_cssText":"` + css + `"}},{"type":2,"data":{"_cssText":"` + css + `"}}]`)
	ex, err := assets.Extractor{}.Extract(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(ex.Refs) != 2 || len(ex.Assets) != 1 || ex.Refs[0].Hash != ex.Refs[1].Hash {
		t.Fatalf("%d refs, %d assets; want 2 refs to 1 asset", len(ex.Refs), len(ex.Assets))
	}
	if !bytes.Equal(inline(t, ex), data) {
		t.Fatal("not byte-equal")
	}
}

func TestKeysAndSmallValuesStayInTheChunk(t *testing.T) {
	long := strings.Repeat("k", 2000)
	data := []byte(`[{"type":3,"data":{"` + long + `":"small","n":[1,2,3],"t":"` + strings.Repeat("v", 100) + `"}}]`)
	ex, err := assets.Extractor{}.Extract(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(ex.Refs) != 0 || !bytes.Equal(ex.Data, data) {
		t.Fatalf("extracted %d values from a chunk whose only large string is a key", len(ex.Refs))
	}
}

func TestExtractRefusesInvalidJSON(t *testing.T) {
	if _, err := (assets.Extractor{MinBytes: 1}).Extract([]byte(`[{"a":"b"`)); err == nil {
		t.Fatal("invalid JSON accepted")
	}
}
