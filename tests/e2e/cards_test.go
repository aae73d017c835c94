//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/seed/sessionreplay/pkg/chembed/chembedtest"
	"github.com/seed/sessionreplay/pkg/store"
)

// TestTypedCardsFromChromiumNeverStored (issue 13): the recorder in real
// Chromium with maskAllInputs: false and the receiver with mask_inputs:
// false; card numbers typed spaced, dashed, glued to text, on a textarea's
// second line and into a field the page had filled, one shown by the page,
// next to an SVG chart whose coordinates pass Luhn (tests/e2e/type-cards.mjs).
// Every row of every table is read back: no card is stored, and every chart
// attribute is stored as the live page held it.
func TestTypedCardsFromChromiumNeverStored(t *testing.T) {
	ctx := context.Background()
	root := repoRoot(t)
	dist := filepath.Join(root, "recorder/dist")
	if _, err := os.Stat(filepath.Join(dist, "sessionreplay.min.js")); err != nil {
		t.Fatalf("the recorder is not built (run `go tool mage e2e`, which builds it): %v", err)
	}
	conn, db := chembedtest.NewDatabase(t)
	otlpAddr, pageAddr := freeAddr(t), freeAddr(t)
	dir := t.TempDir()
	config := filepath.Join(dir, "collector.yaml")
	if err := os.WriteFile(config, []byte(fmt.Sprintf(`receivers:
  sessionreplay:
    endpoint: %s
    cors:
      allowed_origins: ['http://%s']
    clickhouse:
      endpoint: %s
    create_schema: true
    privacy:
      mask_inputs: false
    batch:
      max_delay: 50ms
exporters:
  debug:
    verbosity: basic
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    logs:
      receivers: [sessionreplay]
      exporters: [debug]
`, otlpAddr, pageAddr, chembedtest.DSN(db))), 0o600); err != nil {
		t.Fatal(err)
	}
	col := exec.Command(goBuild(t, root, "./collector-receiver/cmd/otelcol-sessionreplay"), "--config", config)
	logPath := filepath.Join(dir, "collector.log")
	colLog, _ := os.Create(logPath)
	col.Stdout, col.Stderr = colLog, colLog
	col.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := col.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = col.Process.Signal(os.Interrupt); _ = col.Wait() }()
	waitListening(t, otlpAddr, 60*time.Second, logPath)

	var typed struct {
		SessionID   string            `json:"sessionId"`
		Cards       []string          `json:"cards"`
		ChartBefore map[string]string `json:"chartBefore"`
		ChartAfter  map[string]string `json:"chartAfter"`
		Label       string            `json:"label"`
	}
	runNode(t, root, &typed, "tests/e2e/type-cards.mjs", "http://"+otlpAddr, dist, pageAddr)
	if typed.SessionID == "" || len(typed.Cards) == 0 || len(typed.ChartBefore) < 8 {
		t.Fatalf("the page reported too little: %+v", typed)
	}

	reader := store.NewReader(conn, db)
	var data strings.Builder
	waitFor(t, 30*time.Second, "the recorded chunks", func() bool {
		chunks, err := reader.Chunks(ctx, typed.SessionID)
		if err != nil || len(chunks) == 0 {
			return false
		}
		data.Reset()
		inputs := 0
		for _, c := range chunks {
			data.Write(c.Data)
			inputs += strings.Count(string(c.Data), `"source":5`)
		}
		return inputs >= 5 && strings.Contains(data.String(), "Charged")
	})
	stored := data.String()

	// every string of every row of every table, the chunk JSON decoded too,
	// with spaces and dashes taken out
	var strs []string
	rows, err := conn.Query(clickhouse.Context(ctx, clickhouse.WithParameters(clickhouse.Parameters{"db": db})),
		"SELECT name FROM system.tables WHERE database = {db:String}")
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	rows.Close()
	nRows := 0
	for _, table := range tables {
		rows, err := conn.Query(ctx, fmt.Sprintf("SELECT formatRow('JSONEachRow', *) FROM `%s`.`%s`", db, table))
		if err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			var row any
			if err := json.Unmarshal([]byte(line), &row); err != nil {
				t.Fatalf("%s row: %v", table, err)
			}
			strs = appendStrings(row, strs)
			nRows++
		}
		rows.Close()
	}
	found := 0
	flatten := strings.NewReplacer(" ", "", "-", "", "\n", "", "\t", "")
	for _, card := range typed.Cards {
		digits := flatten.Replace(strings.TrimPrefix(card, "card:"))
		for _, s := range strs {
			if strings.Contains(flatten.Replace(s), digits) {
				found++
				t.Errorf("card %s stored: %.300q", card, s)
				break
			}
		}
	}
	// masking was off: what was typed around the cards is kept
	for _, kept := range []string{`first line\n***************`, "card:****************", "ref ****************", "Charged **** **** **** ****, thanks"} {
		if !strings.Contains(stored, kept) {
			t.Errorf("%q not stored (masking off keeps text; only card digits become *)", kept)
		}
	}
	// the chart, byte for byte, before and after the redraw
	changed := 0
	for _, chart := range []map[string]string{typed.ChartBefore, typed.ChartAfter} {
		for key, value := range chart {
			attr := key[strings.IndexByte(key, '.')+1:]
			want, _ := json.Marshal(map[string]string{attr: value})
			if !strings.Contains(stored, strings.Trim(string(want), "{}")) {
				changed++
				t.Errorf("chart attribute %s=%q not stored as is", key, value)
			}
		}
	}
	if !strings.Contains(stored, `"textContent":"`+typed.Label+`"`) {
		changed++
		t.Errorf("chart label %q not stored as is", typed.Label)
	}
	t.Logf("RELIABILITY scenario=typed_cards_chromium tables=%d rows=%d cards_typed=%d cards_found=%d chart_values=%d chart_values_changed=%d",
		len(tables), nRows, len(typed.Cards), found, len(typed.ChartBefore)+len(typed.ChartAfter)+1, changed)
}

// appendStrings appends every string of a decoded JSON value (keys too) to
// out; a string holding a JSON array or object (chunk data, marker details)
// is decoded and walked as well.
func appendStrings(v any, out []string) []string {
	switch v := v.(type) {
	case string:
		out = append(out, v)
		if s := strings.TrimSpace(v); strings.HasPrefix(s, "[") || strings.HasPrefix(s, "{") {
			var inner any
			if json.Unmarshal([]byte(s), &inner) == nil {
				out = appendStrings(inner, out)
			}
		}
	case []any:
		for _, e := range v {
			out = appendStrings(e, out)
		}
	case map[string]any:
		for k, e := range v {
			out = append(out, k)
			out = appendStrings(e, out)
		}
	}
	return out
}
