package assetref_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/seed/sessionreplay/pkg/assetref"
)

func TestInlinePutsEachAssetBackAtItsOffset(t *testing.T) {
	css := []byte(`"body{color:red}"`)
	img := []byte(`"data:image/png;base64,AAAA"`)
	hc, hi := assetref.Of(css), assetref.Of(img)
	stored := []byte(`[{"a":` + string(assetref.Placeholder(hc)) + `,"b":` + string(assetref.Placeholder(hi)) + `,"c":` + string(assetref.Placeholder(hc)) + `}]`)
	var refs []assetref.Ref
	for off := 0; ; {
		i := bytes.Index(stored[off:], []byte(`"\u0000sr-asset:`))
		if i < 0 {
			break
		}
		h := hc
		if len(refs) == 1 {
			h = hi
		}
		refs = append(refs, assetref.Ref{Offset: uint32(off + i), Hash: h})
		off += i + 1
	}
	values := map[assetref.Hash][]byte{hc: css, hi: img}
	got, err := assetref.Inline(stored, refs, func(h assetref.Hash) ([]byte, bool) { v, ok := values[h]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"a":"body{color:red}","b":"data:image/png;base64,AAAA","c":"body{color:red}"}]`
	if string(got) != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
}

func TestInlineLeavesPageDataThatLooksLikeAPlaceholderAlone(t *testing.T) {
	// a page that recorded a placeholder-shaped string has no reference to it
	h := assetref.Of([]byte(`"x"`))
	data := []byte(`[` + string(assetref.Placeholder(h)) + `]`)
	got, err := assetref.Inline(data, nil, func(assetref.Hash) ([]byte, bool) { return []byte(`"x"`), true })
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("got %s, %v; want the data unchanged", got, err)
	}
}

func TestInlineRefusesReferencesThatDoNotMatchTheData(t *testing.T) {
	h := assetref.Of([]byte(`"x"`))
	other := assetref.Of([]byte(`"y"`))
	data := []byte(`[` + string(assetref.Placeholder(h)) + `]`)
	lookup := func(assetref.Hash) ([]byte, bool) { return []byte(`"x"`), true }
	for name, refs := range map[string][]assetref.Ref{
		"wrong offset": {{Offset: 0, Hash: h}},
		"wrong hash":   {{Offset: 1, Hash: other}},
		"past the end": {{Offset: uint32(len(data)), Hash: h}},
		"out of order": {{Offset: 1, Hash: h}, {Offset: 1, Hash: h}},
	} {
		if _, err := assetref.Inline(data, refs, lookup); !errors.Is(err, assetref.ErrBadRef) {
			t.Errorf("%s: err = %v, want ErrBadRef", name, err)
		}
	}
	none := func(assetref.Hash) ([]byte, bool) { return nil, false }
	if _, err := assetref.Inline(data, []assetref.Ref{{Offset: 1, Hash: h}}, none); !errors.Is(err, assetref.ErrMissingAsset) {
		t.Errorf("missing asset: err = %v, want ErrMissingAsset", err)
	}
}
