package sessionreplayreceiver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
)

// clientFrom is an HTTP client whose connections come from a given
// loopback address (another "remote IP" for the per-client limit).
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DialContext: d.DialContext}}
}

func postWith(t *testing.T, cl *http.Client, url string, body []byte, hdr ...string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", pbContentType)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return resp.StatusCode, b.String(), resp.Header
}

// TestRateLimits: a page flooding chunks of one session is limited (429 +
// Retry-After) while a normal session from another client still lands; a
// client flooding with many sessions hits the per-client limit.
func TestRateLimits(t *testing.T) {
	c := startCollector(t, "", `    rate_limits:
      per_session: {rate: 2, burst: 5}
      per_client: {rate: 20, burst: 40}
`)
	ctx := context.Background()
	url := "http://" + c.endpoint + "/v1/logs"
	now := time.Now().UnixMilli()
	ev := []json.RawMessage{metaEvent("https://shop.example/", now)}
	flood, normal := "flood-"+c.db, "normal-"+c.db
	flooder, other := clientFrom("127.0.0.1"), clientFrom("127.0.0.2")

	var floodOK, flood429 atomic.Int64
	var badRetryAfter atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				code, msg, h := postWith(t, flooder, url, logsProto(t, chunkLogs(t, flood, int64(w*100+i), ev, nil)))
				switch code {
				case 200:
					floodOK.Add(1)
				case 429:
					flood429.Add(1)
					if h.Get("Retry-After") == "" || !strings.Contains(msg, "rate limit") {
						badRetryAfter.Add(1)
					}
				default:
					t.Errorf("flood: %d %s", code, msg)
				}
			}
		}(w)
	}
	normalOK := 0
	for i := 0; i < 5; i++ {
		code, msg, _ := postWith(t, other, url, logsProto(t, chunkLogs(t, normal, int64(i), ev, nil)))
		if code == 200 {
			normalOK++
		} else {
			t.Errorf("normal session refused: %d %s", code, msg)
		}
		time.Sleep(300 * time.Millisecond)
	}
	wg.Wait()
	elapsed := time.Since(start)
	storedFlood, _ := c.reader.ChunkCount(ctx, "replay_chunks_buffer", flood)
	storedNormal, _ := c.reader.ChunkCount(ctx, "replay_chunks_buffer", normal)
	// per-client: one client address sending fast (empty trace exports,
	// answered without a write, so the loop outpaces rate 20/s)
	var client429, clientOK int
	for i := 0; i < 80; i++ {
		req, _ := http.NewRequest(http.MethodPost, "http://"+c.endpoint+"/v1/traces", strings.NewReader(`{}`))
		req.Header.Set("Content-Type", jsonContentType)
		resp, err := flooder.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		resp.Body.Close()
		code, msg := resp.StatusCode, b.String()
		switch {
		case code == 429 && strings.Contains(msg, "per-client"):
			client429++
		case code == 200:
			clientOK++
		default:
			t.Errorf("per-client flood: %d %s", code, msg)
		}
	}
	code, msg, _ := postWith(t, other, url, logsProto(t, chunkLogs(t, normal, 99, ev, nil)))
	t.Logf("RELIABILITY scenario=rate_limits flood_sent=100 flood_ok=%d flood_429=%d flood_stored=%d normal_sent=5 normal_ok=%d normal_stored=%d elapsed_ms=%d per_client_sent=80 per_client_ok=%d per_client_429=%d other_client_after=%d",
		floodOK.Load(), flood429.Load(), storedFlood, normalOK, storedNormal, elapsed.Milliseconds(), clientOK, client429, code)
	if flood429.Load() == 0 || floodOK.Load() > int64(5+2*elapsed.Seconds()+2) || badRetryAfter.Load() != 0 {
		t.Errorf("flood not limited: ok %d, 429 %d, bad Retry-After %d", floodOK.Load(), flood429.Load(), badRetryAfter.Load())
	}
	if normalOK != 5 || storedNormal != 5 {
		t.Errorf("normal session: ok %d stored %d", normalOK, storedNormal)
	}
	if client429 == 0 || code != 200 {
		t.Errorf("per-client: 429 %d; other client after: %d %s", client429, code, msg)
	}
}

// TestAccessControl: CORS is closed to unknown origins; ingest keys are
// required when configured and bind a request to a service and origins.
func TestAccessControl(t *testing.T) {
	c := startCollector(t, "", `    cors:
      allowed_origins: ["https://shop.example"]
      allowed_headers: ["Content-Type", "X-SessionReplay-Key"]
    ingest_keys:
      - key: pk_shop_123
        service: shop-web
        origins: ["https://shop.example"]
`)
	ctx := context.Background()
	url := "http://" + c.endpoint + "/v1/logs"
	preflight := func(origin string) http.Header {
		req, _ := http.NewRequest(http.MethodOptions, url, nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "content-type,x-sessionreplay-key")
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		return r.Header
	}
	if h := preflight("https://evil.example"); h.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight from unknown origin allowed: %v", h)
	}
	if h := preflight("https://shop.example"); h.Get("Access-Control-Allow-Origin") != "https://shop.example" {
		t.Errorf("preflight from the allowed origin: %v", h)
	}
	sess := "keyed-" + c.db
	ev := []json.RawMessage{metaEvent("https://shop.example/", time.Now().UnixMilli())}
	body := func(seq int64, service string) []byte {
		return logsProto(t, chunkLogs(t, sess, seq, ev, func(lr plog.LogRecord) {}))
	}
	otherService := func() []byte {
		ld := chunkLogs(t, sess, 50, ev, nil)
		ld.ResourceLogs().At(0).Resource().Attributes().PutStr("service.name", "admin-web")
		return logsProto(t, ld)
	}
	cases := []struct {
		name string
		url  string
		body []byte
		hdr  []string
		code int
		msg  string
	}{
		{"no key", url, body(1, ""), []string{"Origin", "https://shop.example"}, 401, "missing ingest key"},
		{"unknown key", url, body(2, ""), []string{"Origin", "https://shop.example", HeaderIngestKey, "pk_nope"}, 401, "unknown ingest key"},
		{"wrong origin", url, body(3, ""), []string{"Origin", "https://evil.example", HeaderIngestKey, "pk_shop_123"}, 403, "origin"},
		{"wrong service", url, otherService(), []string{"Origin", "https://shop.example", HeaderIngestKey, "pk_shop_123"}, 403, "does not match the ingest key's service"},
		{"header key", url, body(4, ""), []string{"Origin", "https://shop.example", HeaderIngestKey, "pk_shop_123"}, 200, ""},
		{"query key (sendBeacon)", url + "?key=pk_shop_123", body(5, ""), []string{"Origin", "https://shop.example"}, 200, ""},
	}
	results := []string{}
	for _, k := range cases {
		code, msg, _ := postWith(t, http.DefaultClient, k.url, k.body, k.hdr...)
		if code != k.code || !strings.Contains(msg, k.msg) {
			t.Errorf("%s: %d %q, want %d %q", k.name, code, msg, k.code, k.msg)
		}
		results = append(results, fmt.Sprintf("%s=%d", strings.ReplaceAll(k.name, " ", "_"), code))
	}
	if n, _ := c.reader.ChunkCount(ctx, "replay_chunks_buffer", sess); n != 2 {
		t.Errorf("stored %d chunks, want the 2 with a valid key", n)
	}
	t.Logf("RELIABILITY scenario=access %s", strings.Join(results, " "))
}

// TestPrivacyAudit: with mask_inputs false (the recorder and the config both
// let typed text through), the receiver still stores no password, no
// card-like number and no value of a sensitive field. The audit scans every
// stored chunk and marker for the typed secrets.
func TestPrivacyAudit(t *testing.T) {
	c := startCollector(t, "", `    privacy:
      mask_inputs: false
`)
	ctx := context.Background()
	sess := "audit-" + c.db
	now := time.Now().UnixMilli()
	snapshot := fmt.Sprintf(`{"type":2,"timestamp":%d,"data":{"node":{"type":0,"id":1,"childNodes":[{"type":2,"id":2,"tagName":"html","attributes":{},"childNodes":[
 {"type":2,"id":10,"tagName":"input","attributes":{"type":"password","name":"pw","value":"Pa55-Zebra-Q!"},"childNodes":[]},
 {"type":2,"id":11,"tagName":"input","attributes":{"type":"text","autocomplete":"cc-number","name":"f1"},"childNodes":[]},
 {"type":2,"id":12,"tagName":"input","attributes":{"type":"text","name":"cvv"},"childNodes":[]},
 {"type":2,"id":13,"tagName":"input","attributes":{"type":"text","name":"customer_ssn"},"childNodes":[]},
 {"type":2,"id":14,"tagName":"input","attributes":{"type":"text","name":"nickname"},"childNodes":[]},
 {"type":2,"id":15,"tagName":"div","attributes":{"data-sensitive":""},"childNodes":[{"type":3,"id":16,"textContent":"Diagnosis Zeta-Omega"}]},
 {"type":2,"id":17,"tagName":"input","attributes":{"type":"text","name":"note"},"childNodes":[]},
 {"type":2,"id":18,"tagName":"input","attributes":{"type":"text","id":"card-holder-pin","data-sensitive":"true"},"childNodes":[]}
]}]},"initialOffset":{"top":0,"left":0}}}`, now)
	var evs []json.RawMessage
	evs = append(evs, json.RawMessage(snapshot))
	input := func(id int, text string) {
		evs = append(evs, json.RawMessage(fmt.Sprintf(`{"type":3,"timestamp":%d,"data":{"source":5,"text":%q,"isChecked":false,"id":%d}}`, now+int64(len(evs)), text, id)))
	}
	pw := "Pa55-Zebra-Q!"
	for i := 1; i <= len(pw); i++ { // keystroke by keystroke
		input(10, pw[:i])
	}
	input(11, "4111 1111 1111 1111")
	input(12, "7731")
	input(13, "078-05-1120")
	input(14, "friendly-nick")               // not sensitive: kept (mask_inputs false)
	input(17, "pay 4000056655665556 please") // card-like in a plain field: Luhn scrub
	input(18, "8642")
	// a password field added later by a mutation, then typed into
	evs = append(evs, json.RawMessage(fmt.Sprintf(`{"type":3,"timestamp":%d,"data":{"source":0,"texts":[],"attributes":[],"removes":[],"adds":[{"parentId":2,"nextId":null,"node":{"type":2,"id":30,"tagName":"input","attributes":{"type":"password","value":"Late-Secret-77"},"childNodes":[]}}]}}`, now+100)))
	input(30, "Late-Secret-77")
	ld := plog.NewLogs()
	addChunk(t, ld, chunkOpts{session: sess, window: "w", seq: 0, events: evs, gzip: true})
	// a custom event and an exception carrying a card number
	rl := ld.ResourceLogs().AppendEmpty()
	lrs := rl.ScopeLogs().AppendEmpty().LogRecords()
	ce := lrs.AppendEmpty()
	ce.SetEventName("checkout")
	ce.Attributes().PutStr("session.id", sess)
	ce.Body().SetStr(`{"card":"5105 1051 0510 5100"}`)
	ex := lrs.AppendEmpty()
	ex.SetEventName("exception")
	ex.Attributes().PutStr("session.id", sess)
	ex.Attributes().PutStr("exception.type", "Error")
	ex.Attributes().PutStr("exception.message", "charge failed for 4111-1111-1111-1111")
	if r := c.sendLogs(ld, false); r.PartialSuccess().RejectedLogRecords() != 0 {
		t.Fatalf("rejected: %s", r.PartialSuccess().ErrorMessage())
	}
	chunks, err := c.reader.Chunks(ctx, sess)
	if err != nil || len(chunks) != 1 {
		t.Fatalf("chunks %d %v", len(chunks), err)
	}
	var stored strings.Builder
	for _, ch := range chunks {
		stored.Write(ch.Data)
	}
	rows, err := c.conn.Query(chCtx(ctx, "s", sess), "SELECT name, url, detail FROM "+c.db+".session_events WHERE session_id = {s:String}")
	if err != nil {
		t.Fatal(err)
	}
	markers := 0
	for rows.Next() {
		var a, b, d string
		_ = rows.Scan(&a, &b, &d)
		stored.WriteString("\n" + a + " " + b + " " + d)
		markers++
	}
	rows.Close()
	all := stored.String()
	secrets := []string{"Pa55", "Zebra", "4111 1111", "4111-1111", "4111111111111111", `"7731"`, "078-05-1120", "Zeta-Omega", "4000056655665556",
		"5105 1051", `"8642"`, "Late-Secret"}
	found := 0
	for _, s := range secrets {
		if strings.Contains(all, s) {
			found++
			t.Errorf("secret %q stored", s)
		}
	}
	if !strings.Contains(all, "friendly-nick") {
		t.Errorf("non-sensitive input was masked although mask_inputs is false")
	}
	t.Logf("RELIABILITY scenario=privacy_audit chunks=%d markers=%d secrets_checked=%d secrets_found=%d", len(chunks), markers, len(secrets), found)
}
