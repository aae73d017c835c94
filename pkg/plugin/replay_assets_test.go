package plugin

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"

	"github.com/seed/sessionreplay/pkg/assetref"
	"github.com/seed/sessionreplay/pkg/chembed/chembedtest"
	"github.com/seed/sessionreplay/pkg/pluginhost"
	"github.com/seed/sessionreplay/pkg/store"
)

// stylesheet is a value as a JSON string holds it between its quotes:
// escapes (quotes, newlines), accented and astral characters, as recorded
// pages have them.
func stylesheet(name string) string {
	return strings.Repeat(`.`+name+`::before{content:\"é😀\"}\n`, 300)
}

// assetChunk is a chunk of site "shop" holding the given stylesheets in the
// form the receiver stores (assetref): each cut out of its quotes, leaving
// `""`, with a reference to the asset. An astral character before the first
// makes UTF-8 byte offsets and JavaScript's UTF-16 indexes differ.
func assetChunk(t *testing.T, sid string, seq uint64, start time.Time, sheets ...string) (store.Chunk, []byte) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, `[{"type":4,"data":{"href":"https://shop.example/😀","width":1200,"height":800},"timestamp":%d},`, start.UnixMilli())
	fmt.Fprintf(&b, `{"type":2,"data":{"node":{"type":0,"id":1,"childNodes":[`)
	for i, s := range sheets {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"type":2,"id":%d,"tagName":"style","attributes":{"_cssText":"%s"},"childNodes":[]}`, i+2, s)
	}
	fmt.Fprintf(&b, `]},"initialOffset":{"top":0,"left":0}},"timestamp":%d}]`, start.UnixMilli()+1)
	whole := []byte(b.String())
	c := store.Chunk{SessionID: sid, WindowID: "w1", Seq: seq, Start: start, End: start.Add(time.Millisecond), EventCount: 2,
		FullSnapshot: true, ServiceName: "shop"}
	stored := whole
	for _, s := range sheets {
		at := bytes.Index(stored, []byte(`"`+s+`"`))
		if at < 0 {
			t.Fatalf("stylesheet not in the chunk")
		}
		stored = append(append(append([]byte(nil), stored[:at+1]...), '"'), stored[at+1+len(s)+1:]...)
		h := assetref.Of([]byte(s))
		c.Refs = append(c.Refs, assetref.Ref{Offset: uint32(at), Hash: h})
		c.Assets = append(c.Assets, assetref.Asset{Hash: h, Value: []byte(s)})
	}
	c.Data = stored
	return c, whole
}

// grafanaWithPlugin builds the plugin, starts it as Grafana does and serves
// Grafana's data source API from it (pkg/pluginhost, with Grafana's
// treatment of resource response headers), reading database db.
func grafanaWithPlugin(t *testing.T, db string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "gpx_sessionreplay")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = ".." // ./pkg
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./pkg: %v\n%s", err, out)
	}
	plugin, err := pluginhost.Start(bin, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(plugin.Kill)
	settings, _ := json.Marshal(map[string]any{"addresses": []string{chembedtest.Addr()}, "database": db})
	srv := httptest.NewServer(&pluginhost.API{Plugin: plugin, PluginID: PluginID,
		Settings: &pluginv2.DataSourceInstanceSettings{Id: 1, Uid: "sr", Name: "Session replay", JsonData: settings, LastUpdatedMS: 1}})
	t.Cleanup(srv.Close)
	return srv.URL + "/api/datasources/uid/sr/resources/"
}

func get(t *testing.T, url string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

func TestAssetResourceIsCacheableForGoodBehindGrafanaAndAnswers304(t *testing.T) {
	conn, db := migrated(t)
	c, _ := assetChunk(t, "s-assets", 0, recent(), stylesheet("a"))
	if err := store.NewWriter(conn, db).WriteChunks(context.Background(), store.TableBuffer, []store.Chunk{c}); err != nil {
		t.Fatal(err)
	}
	base := grafanaWithPlugin(t, db)
	h := c.Refs[0].Hash.String()

	resp, body := get(t, base+"assets/"+h+"?site=shop")
	if resp.StatusCode != http.StatusOK || string(body) != stylesheet("a") {
		t.Fatalf("asset: %d, %d bytes", resp.StatusCode, len(body))
	}
	// what a browser gets through Grafana's server: our Cache-Control, not its no-store
	if cc := resp.Header.Get("Cache-Control"); cc != AssetCacheControl {
		t.Fatalf("Cache-Control through Grafana: %q, want %q", cc, AssetCacheControl)
	}
	etag := resp.Header.Get("ETag")
	if etag != `"`+h+`"` {
		t.Fatalf("ETag %q", etag)
	}

	resp, body = get(t, base+"assets/"+h+"?site=shop", "If-None-Match", etag)
	if resp.StatusCode != http.StatusNotModified || len(body) != 0 || resp.Header.Get("Cache-Control") != AssetCacheControl {
		t.Fatalf("revalidation: %d, %d bytes, Cache-Control %q", resp.StatusCode, len(body), resp.Header.Get("Cache-Control"))
	}

	// another site's asset of the same content is not this site's
	resp, _ = get(t, base+"assets/"+h+"?site=other")
	if resp.StatusCode != http.StatusNotFound || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("asset of another site: %d, Cache-Control %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	if resp, _ = get(t, base+"assets/not-a-hash?site=shop"); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad hash: %d", resp.StatusCode)
	}
	// the replay stream stays uncacheable
	if resp, _ = get(t, base+"sessions/s-assets/replay"); resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("replay Cache-Control %q", resp.Header.Get("Cache-Control"))
	}
}

// assetLine is a chunk line of the replay stream with assets=refs.
type assetLine struct {
	Type   string         `json:"type"`
	Seq    uint64         `json:"seq"`
	Site   string         `json:"site"`
	Assets []assetLineRef `json:"assets"`
	Events json.RawMessage
}

// inlineAsThePanelDoes puts each asset between the quotes of its empty
// string token, by UTF-16 index into the decoded text, as the panel
// (src/panel/replay/assets.ts) does.
func inlineAsThePanelDoes(t *testing.T, base, events string, l assetLine) string {
	t.Helper()
	units := utf16.Encode([]rune(events))
	var out []uint16
	last := 0
	for _, r := range l.Assets {
		resp, value := get(t, base+"assets/"+r.Hash+"?site="+l.Site)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("asset %s: %d", r.Hash, resp.StatusCode)
		}
		if string(utf16.Decode(units[r.At:r.At+2])) != `""` {
			t.Fatalf("chunk %d: no empty string at %d", l.Seq, r.At)
		}
		out = append(out, units[last:r.At+1]...)
		out = append(out, utf16.Encode([]rune(string(value)))...)
		last = r.At + 1
	}
	return string(utf16.Decode(append(out, units[last:]...)))
}

// legacyChunk is a chunk of site "shop" in the placeholder form rows had
// before the empty string token (a token naming the hash, the asset's value
// with its quotes): the backend re-inlines it, even when the panel asks for
// references.
func legacyChunk(start time.Time) (store.Chunk, []byte) {
	value := `"` + stylesheet("old") + `"`
	h := assetref.Of([]byte(value))
	placeholder := `"\u0000sr-asset:` + h.String() + `"`
	head := fmt.Sprintf(`[{"type":3,"data":{"source":8,"id":2,"adds":[{"rule":`)
	tail := fmt.Sprintf(`,"index":0}]},"timestamp":%d}]`, start.UnixMilli())
	return store.Chunk{SessionID: "s-refs", WindowID: "w1", Seq: 3, Start: start, End: start, EventCount: 1, ServiceName: "shop",
		Data:   []byte(head + placeholder + tail),
		Refs:   []assetref.Ref{{Offset: uint32(len(head)), Hash: h}},
		Assets: []assetref.Asset{{Hash: h, Value: []byte(value)}}}, []byte(head + value + tail)
}

func TestReplayWithAssetRefsGivesTheEventsByteEqualOnceThePanelInlines(t *testing.T) {
	conn, db := migrated(t)
	t0 := recent()
	first, whole0 := assetChunk(t, "s-refs", 0, t0, stylesheet("a"), stylesheet("b"))
	second, whole1 := assetChunk(t, "s-refs", 1, t0.Add(time.Minute), stylesheet("b"), stylesheet("c"))
	plain := store.Chunk{SessionID: "s-refs", WindowID: "w1", Seq: 2, Start: t0.Add(2 * time.Minute), End: t0.Add(2 * time.Minute),
		EventCount: 1, ServiceName: "shop", Data: []byte(fmt.Sprintf(`[{"type":3,"data":{"source":1,"positions":[]},"timestamp":%d}]`, t0.Add(2*time.Minute).UnixMilli()))}
	legacy, whole3 := legacyChunk(t0.Add(3 * time.Minute))
	if err := store.NewWriter(conn, db).WriteChunks(context.Background(), store.TableBuffer, []store.Chunk{first, second, plain, legacy}); err != nil {
		t.Fatal(err)
	}
	base := grafanaWithPlugin(t, db)
	want := [][]byte{whole0, whole1, plain.Data, whole3}

	_, body := get(t, base+"sessions/s-refs/replay?assets=refs")
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, MaxLineBytes+FlushBytes)
	var got [][]byte
	refs := 0
	for sc.Scan() {
		line := sc.Text()
		var l assetLine
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatal(err)
		}
		if l.Type != "chunk" {
			continue
		}
		events := line[strings.Index(line, `,"events":`)+len(`,"events":`) : len(line)-1]
		refs += len(l.Assets)
		got = append(got, []byte(inlineAsThePanelDoes(t, base, events, l)))
	}
	if refs != 4 {
		t.Fatalf("%d references on the stream, want 4 (2 per snapshot chunk; the legacy row's re-inlined)", refs)
	}
	if len(got) != len(want) {
		t.Fatalf("%d chunks, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("chunk %d differs from what was recorded:\n got %.200s\nwant %.200s", i, got[i], want[i])
		}
	}

	// and the stream without assets=refs gives the same events whole
	_, body = get(t, base+"sessions/s-refs/replay")
	for i, w := range want {
		if !bytes.Contains(body, w) {
			t.Fatalf("backend-inlined stream lacks chunk %d", i)
		}
	}
	if resp, _ := get(t, base+"sessions/s-refs/replay?assets=yes"); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("assets=yes: %d", resp.StatusCode)
	}
}
