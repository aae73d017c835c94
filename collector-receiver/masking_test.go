package sessionreplayreceiver

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
)

// TestTypedCardsNeverStoredChartCoordinatesKept (issue 13): a page recorded
// with masking off (rrweb maskAllInputs: false, and mask_inputs: false on the
// receiver) where card numbers are typed spaced, dashed, glued to text, after
// an escape and in a textarea's second line, next to an SVG chart whose
// coordinates pass Luhn. Through the collector binary into ClickHouse; then
// every row of every table is read back and decoded: no card is stored, and
// every coordinate is stored byte for byte.
func TestTypedCardsNeverStoredChartCoordinatesKept(t *testing.T) {
	c := startCollector(t, "    rules:\n      - name: kept\n        log: 'event_name == \"keep\"'\n", "    privacy:\n      mask_inputs: false\n")
	ctx := context.Background()
	sess := "cards-" + c.db
	now := time.Now().UnixMilli()

	// the chart's values, as a charting library prints them: every decimal
	// part below passes Luhn (checked), so the old scan rewrote them
	chart := map[string]string{
		"width": "45.963171592376895", "height": "283.66666666666663",
		"d":  "M0,283.66666666666663L45.963171592376895,120.08333333330006L91.92634318475379,1.414213562370006",
		"x1": "1.414213562370014", "x2": "120.08333333330014", "y1": "0", "y2": "1.414213562370022",
	}
	for _, v := range []string{"963171592376895", "66666666666663", "08333333330006", "414213562370006", "414213562370014", "08333333330014", "414213562370022"} {
		if !luhnValid(v) {
			t.Fatalf("%s does not pass Luhn: the chart proves nothing", v)
		}
	}
	attrJSON := func(keys ...string) string {
		var parts []string
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%q:%q", k, chart[k]))
		}
		return strings.Join(parts, ",")
	}
	// what a real rrweb recorder with maskAllInputs: false sends: values in
	// the snapshot, input events with the whole value, the textarea's text
	snapshot := fmt.Sprintf(`{"type":2,"timestamp":%d,"data":{"node":{"type":0,"id":1,"childNodes":[{"type":2,"id":2,"tagName":"html","attributes":{},"childNodes":[{"type":2,"id":3,"tagName":"body","attributes":{},"childNodes":[
 {"type":2,"id":10,"tagName":"input","attributes":{"type":"text","name":"message","value":"card:4111111111111111"},"childNodes":[]},
 {"type":2,"id":11,"tagName":"textarea","attributes":{"name":"comments","value":"hello\n5555 5555 5555 4444"},"childNodes":[{"type":3,"id":12,"textContent":"hello\n5555 5555 5555 4444"}]},
 {"type":2,"id":13,"tagName":"input","attributes":{"type":"text","name":"nickname","value":"friendly-nick"},"childNodes":[]},
 {"type":2,"id":20,"tagName":"svg","isSVG":true,"attributes":{%s,"viewBox":"0 0 640 283.66666666666663"},"childNodes":[
  {"type":2,"id":21,"tagName":"path","isSVG":true,"attributes":{%s,"fill":"none"},"childNodes":[]},
  {"type":2,"id":22,"tagName":"line","isSVG":true,"attributes":{%s},"childNodes":[]},
  {"type":2,"id":23,"tagName":"text","isSVG":true,"attributes":{"x":"45.963171592376895","y":"283.66666666666663"},"childNodes":[{"type":3,"id":24,"textContent":"283.66666666666663"}]}]}
]}]}]},"initialOffset":{"top":0,"left":0}}}`, now, attrJSON("width", "height"), attrJSON("d"), attrJSON("x1", "x2", "y1", "y2"))
	evs := []json.RawMessage{json.RawMessage(snapshot)}
	add := func(format string, args ...any) {
		evs = append(evs, json.RawMessage(fmt.Sprintf(format, args...)))
	}
	input := func(id int, text string) {
		add(`{"type":3,"timestamp":%d,"data":{"source":5,"text":%q,"isChecked":false,"id":%d}}`, now+int64(len(evs)), text, id)
	}
	typed := map[string]string{
		"spaced":              "4111 1111 1111 1111",
		"dashed":              "5105-1051-0510-5100",
		"glued to text":       "card:4012888888881881",
		"after an escape":     "\t378282246310005",
		"textarea 2nd line":   "first line\n6011111111111117",
		"amid words":          "pay 4000056655665556 please",
		"value after a space": " 3530111333300000",
	}
	for _, name := range []string{"spaced", "dashed", "glued to text", "after an escape", "amid words", "value after a space"} {
		input(10, typed[name])
	}
	input(11, typed["textarea 2nd line"])
	input(13, "friendly-nick-2")
	// the textarea's text and the field's value change through mutations;
	// the chart redraws a line
	add(`{"type":3,"timestamp":%d,"data":{"source":0,"texts":[{"id":12,"value":"again\n6011 0009 9013 9424"}],"attributes":[{"id":10,"attributes":{"value":"5200828282828210"}},{"id":21,"attributes":{"d":%q}}],"removes":[],"adds":[{"parentId":3,"nextId":null,"node":{"type":3,"id":30,"textContent":"Charged 4242 4242 4242 4242, thanks"}}]}}`,
		now+100, chart["d"]+"L137.88951477713068,45.963171592376895")
	add(`{"type":5,"timestamp":%d,"data":{"tag":"checkout","payload":{"card":"2223003122003222"}}}`, now+110)
	cards := []string{"4111111111111111", "5555555555554444", "5105105105105100", "4012888888881881", "378282246310005", "6011111111111117",
		"4000056655665556", "3530111333300000", "6011000990139424", "5200828282828210", "4242424242424242", "2223003122003222"}
	for _, card := range cards {
		if !luhnValid(card) {
			t.Fatalf("test card %s fails Luhn", card)
		}
	}

	ld := plog.NewLogs()
	addChunk(t, ld, chunkOpts{session: sess, window: "w", seq: 0, events: evs, gzip: true})
	if r := c.sendLogs(ld, false); r.PartialSuccess().RejectedLogRecords() != 0 {
		t.Fatalf("rejected: %s", r.PartialSuccess().ErrorMessage())
	}
	// a log rule copies the stored session into the retained tables
	ld = plog.NewLogs()
	keep := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	keep.SetEventName("keep")
	keep.Attributes().PutStr("session.id", sess)
	if r := c.sendLogs(ld, false); r.PartialSuccess().RejectedLogRecords() != 0 {
		t.Fatalf("rejected: %s", r.PartialSuccess().ErrorMessage())
	}
	deadline := time.Now().Add(20 * time.Second)
	for c.count("SELECT count() FROM "+c.db+".replay_chunks WHERE session_id = {s:String}", "s", sess) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("session never retained")
		}
		time.Sleep(200 * time.Millisecond)
	}

	// every string of every row of every table, decoded (the chunk data as
	// JSON too), with spaces and dashes taken out
	var strs []string
	rows, err := c.conn.Query(chCtx(ctx, "db", c.db), "SELECT name FROM system.tables WHERE database = {db:String}")
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
	perTable := map[string]int{}
	for _, table := range tables {
		rows, err := c.conn.Query(ctx, fmt.Sprintf("SELECT formatRow('JSONEachRow', *) FROM `%s`.`%s`", c.db, table))
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
			strs = collectStrings(row, strs)
			nRows++
			perTable[table]++
		}
		rows.Close()
	}
	found := 0
	for _, s := range strs {
		flat := strings.NewReplacer(" ", "", "-", "", "\t", "", "\n", "").Replace(s)
		for _, card := range cards {
			if strings.Contains(flat, card) {
				found++
				t.Errorf("card %s stored: %.300q", card, s)
			}
		}
	}
	for _, table := range []string{"replay_chunks_buffer", "replay_chunks", "session_summaries", "session_events", "retained_sessions"} {
		if perTable[table] == 0 {
			t.Errorf("no row in %s: the audit did not see it (rows per table: %v)", table, perTable)
		}
	}

	chunks, err := c.reader.Chunks(ctx, sess)
	if err != nil || len(chunks) != 1 {
		t.Fatalf("chunks %d %v", len(chunks), err)
	}
	data := string(chunks[0].Data)
	// the chart: every coordinate attribute byte for byte, the label too
	changed := 0
	for _, want := range []string{attrJSON("width", "height"), attrJSON("d"), attrJSON("x1", "x2", "y1", "y2"),
		`"viewBox":"0 0 640 283.66666666666663"`, `"x":"45.963171592376895","y":"283.66666666666663"`, `"textContent":"283.66666666666663"`,
		fmt.Sprintf(`"d":%q`, chart["d"]+"L137.88951477713068,45.963171592376895")} {
		if !strings.Contains(data, want) {
			changed++
			t.Errorf("chart attribute changed: %s not in %s", want, data)
		}
	}
	// the config is honoured: only the digits of a card are masked, the
	// rest of what was typed is kept
	for _, kept := range []string{"friendly-nick-2", `"card:****************"`, `"first line\n****************"`, "Charged **** **** **** ****, thanks"} {
		if !strings.Contains(data, kept) {
			t.Errorf("%q not stored: %s", kept, data)
		}
	}
	t.Logf("RELIABILITY scenario=typed_cards tables=%d rows=%d strings=%d cards_typed=%d cards_found=%d chart_values_changed=%d", len(tables), nRows, len(strs), len(cards), found, changed)
}

// collectStrings appends every string of a decoded JSON value (object keys
// included) to out; a string that is itself a JSON array or object (the
// chunk data, marker details) is decoded and walked too.
func collectStrings(v any, out []string) []string {
	switch v := v.(type) {
	case string:
		out = append(out, v)
		if t := strings.TrimSpace(v); strings.HasPrefix(t, "[") || strings.HasPrefix(t, "{") {
			var inner any
			if json.Unmarshal([]byte(t), &inner) == nil {
				out = collectStrings(inner, out)
			}
		}
	case []any:
		for _, e := range v {
			out = collectStrings(e, out)
		}
	case map[string]any:
		for k, e := range v {
			out = append(out, k)
			out = collectStrings(e, out)
		}
	}
	return out
}

func luhnValid(digits string) bool {
	sum, double := 0, false
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if double {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}
