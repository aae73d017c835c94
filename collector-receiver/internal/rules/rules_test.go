package rules

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

func span(service string, errStatus bool, path string) (ptrace.ResourceSpans, ptrace.ScopeSpans, ptrace.Span) {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", service)
	ss := rs.ScopeSpans().AppendEmpty()
	sp := ss.Spans().AppendEmpty()
	sp.Attributes().PutStr("url.path", path)
	if errStatus {
		sp.Status().SetCode(ptrace.StatusCodeError)
	}
	return rs, ss, sp
}

func TestSpanRulesBothPathStyles(t *testing.T) {
	s, err := Compile([]Rule{
		{Name: "plain", Span: `status.code == STATUS_CODE_ERROR and IsMatch(attributes["url.path"], "^/checkout")`},
		{Name: "prefixed", Span: `span.status.code == STATUS_CODE_ERROR and resource.attributes["service.name"] == "backend"`},
	}, componenttest.NewNopTelemetrySettings())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cases := []struct {
		service string
		err     bool
		path    string
		want    string
	}{
		{"backend", true, "/checkout/pay", "[plain prefixed]"},
		{"web", true, "/checkout", "[plain]"},
		{"backend", true, "/home", "[prefixed]"},
		{"backend", false, "/checkout", "[]"},
	}
	for _, c := range cases {
		rs, ss, sp := span(c.service, c.err, c.path)
		if got := fmt.Sprint(s.MatchSpan(ctx, rs, ss, sp)); got != c.want {
			t.Errorf("%+v: got %s", c, got)
		}
	}
}

func TestLogRules(t *testing.T) {
	s, err := Compile([]Rule{{Name: "exc", Log: `event_name == "exception" and IsMatch(attributes["exception.message"], "payment")`},
		{Name: "sev", Log: `log.severity_number >= SEVERITY_NUMBER_ERROR`}}, componenttest.NewNopTelemetrySettings())
	if err != nil {
		t.Fatal(err)
	}
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	sl := rl.ScopeLogs().AppendEmpty()
	lr := sl.LogRecords().AppendEmpty()
	lr.SetEventName("exception")
	lr.Attributes().PutStr("exception.message", "payment failed")
	lr.SetSeverityNumber(plog.SeverityNumberError)
	if got := fmt.Sprint(s.MatchLog(context.Background(), rl, sl, lr)); got != "[exc sev]" {
		t.Errorf("got %s", got)
	}
}

func TestSessionRules(t *testing.T) {
	s, err := Compile([]Rule{
		{Name: "pricing-no-signup", Session: &SessionRule{Visited: []string{"^/pricing"}, NotVisited: []string{"^/signup/complete"}}},
		{Name: "long-rage", Session: &SessionRule{MinDuration: time.Minute, MinRageClicks: 2}},
		{Name: "custom", Session: &SessionRule{Events: []string{"checkout_failed"}, MinErrors: 1}},
	}, componenttest.NewNopTelemetrySettings())
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Unix(1700000000, 0)
	f := &Facts{URLs: map[string]bool{"https://shop.example.com/pricing?plan=pro": true}, Events: map[string]bool{}, Start: t0, End: t0.Add(30 * time.Second)}
	if got := fmt.Sprint(s.MatchSession(f)); got != "[pricing-no-signup]" {
		t.Errorf("pricing: %s", got)
	}
	f.URLs["https://shop.example.com/signup/complete"] = true
	f.End, f.RageClicks = t0.Add(2*time.Minute), 2
	f.Events["checkout_failed"], f.Errors = true, 1
	if got := fmt.Sprint(s.MatchSession(f)); got != "[long-rage custom]" {
		t.Errorf("converted: %s", got)
	}
}

func TestSampleIsDeterministic(t *testing.T) {
	half, all, none := 0.5, 1.0, 0.0
	s, err := Compile([]Rule{{Name: "half", Sample: &half}, {Name: "all", Sample: &all}, {Name: "none", Sample: &none}}, componenttest.NewNopTelemetrySettings())
	if err != nil {
		t.Fatal(err)
	}
	kept := 0
	for i := 0; i < 10000; i++ {
		id := fmt.Sprintf("session-%d", i)
		a, b := s.Sample(id), s.Sample(id)
		if fmt.Sprint(a) != fmt.Sprint(b) {
			t.Fatal("not deterministic")
		}
		for _, n := range a {
			if n == "half" {
				kept++
			}
			if n == "none" {
				t.Fatal("ratio 0 kept a session")
			}
		}
		if len(a) == 0 || a[len(a)-1] != "all" {
			t.Fatalf("ratio 1 missed %s: %v", id, a)
		}
	}
	if kept < 4700 || kept > 5300 {
		t.Errorf("half kept %d of 10000", kept)
	}
}

func TestCompileErrorsNameFields(t *testing.T) {
	_, err := Compile([]Rule{{Name: "a", Span: "status.code =="}, {Name: "b", Kind: "metric", Log: "true"}}, componenttest.NewNopTelemetrySettings())
	if !errors.Is(err, ErrBadCondition) || !errors.Is(err, ErrUnknownRuleKind) {
		t.Fatalf("%v", err)
	}
	for _, f := range []string{"rules[0].span", "rules[1]"} {
		if !contains(err.Error(), f) {
			t.Errorf("error does not name %s: %v", f, err)
		}
	}
}

func contains(s, sub string) bool {
	return len(s) >= len(sub) && (s == sub || len(sub) == 0 || indexOf(s, sub) >= 0)
}

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

func TestSessionRuleMinDeadClicks(t *testing.T) {
	s, err := Compile([]Rule{
		{Name: "dead", Session: &SessionRule{MinDeadClicks: 2}},
		{Name: "dead-and-rage", Session: &SessionRule{MinDeadClicks: 1, MinRageClicks: 1}},
	}, componenttest.NewNopTelemetrySettings())
	if err != nil {
		t.Fatal(err)
	}
	f := &Facts{URLs: map[string]bool{}, Events: map[string]bool{}, DeadClicks: 1}
	if got := s.MatchSession(f); len(got) != 0 {
		t.Errorf("one dead click matched %v", got)
	}
	f.DeadClicks, f.RageClicks = 2, 1
	if got := fmt.Sprint(s.MatchSession(f)); got != "[dead dead-and-rage]" {
		t.Errorf("two dead clicks and a rage click: %s", got)
	}
	_, err = Compile([]Rule{{Name: "neg", Session: &SessionRule{MinDeadClicks: -1, MinErrors: 1}}}, componenttest.NewNopTelemetrySettings())
	if !errors.Is(err, ErrNegativeMinimum) || !strings.Contains(err.Error(), "neg") {
		t.Errorf("negative minimum: %v", err)
	}
}
