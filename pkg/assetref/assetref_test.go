package assetref_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/seed/sessionreplay/pkg/assetref"
)

// stored is data as the extractor leaves it: each value cut out of its
// quotes, with a ref at each empty string's offset.
func stored(t *testing.T, parts ...string) ([]byte, []assetref.Ref, map[assetref.Hash][]byte) {
	t.Helper()
	var data []byte
	var refs []assetref.Ref
	values := map[assetref.Hash][]byte{}
	for i, p := range parts {
		if i%2 == 0 {
			data = append(data, p...)
			continue
		}
		h := assetref.Of([]byte(p))
		values[h] = []byte(p)
		refs = append(refs, assetref.Ref{Offset: uint32(len(data)), Hash: h})
		data = append(data, assetref.Placeholder...)
	}
	return data, refs, values
}

func lookupIn(values map[assetref.Hash][]byte) func(assetref.Hash) ([]byte, bool) {
	return func(h assetref.Hash) ([]byte, bool) { v, ok := values[h]; return v, ok }
}

func TestInlinePutsEachAssetBackAtItsOffset(t *testing.T) {
	data, refs, values := stored(t, `[{"a":`, `body{color:red}`, `,"b":`, `data:image/png;base64,AAAA`, `,"c":`, `body{color:red}`, `,"d":""}]`)
	got, err := assetref.Inline(data, refs, lookupIn(values))
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"a":"body{color:red}","b":"data:image/png;base64,AAAA","c":"body{color:red}","d":""}]`
	if string(got) != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
	n := len(data)
	for _, r := range refs {
		n += len(values[r.Hash])
	}
	if n != len(want) {
		t.Fatalf("data and values are %d bytes, the original %d: a reader reads more", n, len(want))
	}
}

func TestInlineReadsRowsOfTheLegacyPlaceholder(t *testing.T) {
	// rows stored before the empty token: a placeholder naming the hash, whose
	// asset value carries the quotes
	css := []byte(`"body{color:red}"`)
	h := assetref.Of(css)
	legacy := `"\u0000sr-asset:` + h.String() + `"`
	data := []byte(`[{"a":` + legacy + `}]`)
	got, err := assetref.Inline(data, []assetref.Ref{{Offset: 6, Hash: h}}, lookupIn(map[assetref.Hash][]byte{h: css}))
	if err != nil {
		t.Fatal(err)
	}
	if want := `[{"a":"body{color:red}"}]`; string(got) != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	other := assetref.Of([]byte(`"y"`))
	if _, err := assetref.Inline(data, []assetref.Ref{{Offset: 6, Hash: other}}, lookupIn(map[assetref.Hash][]byte{other: css})); !errors.Is(err, assetref.ErrBadRef) {
		t.Fatalf("a legacy placeholder of another hash: err = %v, want ErrBadRef", err)
	}
}

func TestInlineLeavesPageDataThatLooksLikeAPlaceholderAlone(t *testing.T) {
	// a page that recorded empty strings has no reference to them
	data := []byte(`["",{"a":""}]`)
	got, err := assetref.Inline(data, nil, func(assetref.Hash) ([]byte, bool) { return []byte(`x`), true })
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("got %s, %v; want the data unchanged", got, err)
	}
}

func TestInlineRefusesReferencesThatDoNotMatchTheData(t *testing.T) {
	data, refs, values := stored(t, `[`, `x`, `,1]`)
	h := refs[0].Hash
	lookup := lookupIn(values)
	for name, refs := range map[string][]assetref.Ref{
		"wrong offset": {{Offset: 0, Hash: h}},
		"past the end": {{Offset: uint32(len(data)), Hash: h}},
		"out of order": {{Offset: 1, Hash: h}, {Offset: 1, Hash: h}},
		"overlapping":  {{Offset: 1, Hash: h}, {Offset: 2, Hash: h}},
	} {
		if _, err := assetref.Inline(data, refs, lookup); !errors.Is(err, assetref.ErrBadRef) {
			t.Errorf("%s: err = %v, want ErrBadRef", name, err)
		}
	}
	none := func(assetref.Hash) ([]byte, bool) { return nil, false }
	if _, err := assetref.Inline(data, refs, none); !errors.Is(err, assetref.ErrMissingAsset) {
		t.Errorf("missing asset: err = %v, want ErrMissingAsset", err)
	}
}
