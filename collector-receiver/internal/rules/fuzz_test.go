package rules

import (
	"context"
	"testing"

	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// FuzzRuleEval: OTTL span and log rules evaluated on arbitrary attributes,
// names, statuses and bodies; evaluation never panics.
func FuzzRuleEval(f *testing.F) {
	set, err := Compile([]Rule{
		{Name: "err", Span: `status.code == STATUS_CODE_ERROR and resource.attributes["service.name"] == "backend"`},
		{Name: "path", Span: `IsMatch(attributes["url.full"], "/checkout") and attributes["http.response.status_code"] >= 500`},
		{Name: "dur", Span: `end_time_unix_nano - start_time_unix_nano > 1000000000`},
		{Name: "name", Span: `name == "POST /pay" or Len(name) > 1000`},
		{Name: "log", Log: `IsMatch(body, "fatal") or attributes["level"] == "error" or severity_number >= SEVERITY_NUMBER_ERROR`},
		{Name: "conv", Log: `Int(attributes["n"]) > 3`},
	}, componenttest.NewNopTelemetrySettings())
	if err != nil {
		f.Fatal(err)
	}
	f.Add("url.full", "https://shop.example/checkout", "http.response.status_code", int64(503), "POST /pay", int32(2), "fatal error", 9.5)
	f.Add("service.name", "backend", "n", int64(-1), "", int32(0), "", 0.0)
	f.Add("n", "\xff", "level", int64(1<<62), "x", int32(17), "error", -1e308)
	f.Fuzz(func(t *testing.T, k1, v1, k2 string, n int64, name string, code int32, body string, d float64) {
		td := ptrace.NewTraces()
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr(k1, v1)
		ss := rs.ScopeSpans().AppendEmpty()
		sp := ss.Spans().AppendEmpty()
		sp.SetName(name)
		sp.Status().SetCode(ptrace.StatusCode(code))
		sp.Attributes().PutStr(k1, v1)
		sp.Attributes().PutInt(k2, n)
		sp.Attributes().PutDouble(v1, d)
		sp.SetStartTimestamp(1)
		sp.SetEndTimestamp(2)
		_ = set.MatchSpan(context.Background(), rs, ss, sp)

		ld := plog.NewLogs()
		rl := ld.ResourceLogs().AppendEmpty()
		sl := rl.ScopeLogs().AppendEmpty()
		lr := sl.LogRecords().AppendEmpty()
		lr.Body().SetStr(body)
		lr.SetSeverityNumber(plog.SeverityNumber(code))
		lr.Attributes().PutStr(k1, v1)
		lr.Attributes().PutInt(k2, n)
		lr.Attributes().PutStr("n", v1)
		_ = set.MatchLog(context.Background(), rl, sl, lr)
		_ = set.Sample(v1)
	})
}
