//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/seed/sessionreplay/pkg/chembed/chembedtest"
	"github.com/seed/sessionreplay/pkg/store"
	"github.com/seed/sessionreplay/tests/internal/stack"
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
	stack.StartCollector(t, root, config, otlpAddr, filepath.Join(dir, "collector.log"))

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

	// every string of every row of every table, the chunk JSON decoded too
	strs, tables, nRows := stack.StoredStrings(t, conn, db)
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
		tables, nRows, len(typed.Cards), found, len(typed.ChartBefore)+len(typed.ChartAfter)+1, changed)
}
