// Package rules compiles and evaluates the targeting rules that retain a
// session: OTTL conditions on spans and logs, behavioural session rules
// evaluated when a session goes idle, and deterministic sampling.
package rules

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"regexp"
	"time"

	"github.com/cespare/xxhash/v2"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl/contexts/ottllog"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl/contexts/ottlspan"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl/ottlfuncs"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"
)

// Rule kinds.
const (
	KindSpan    = "span"
	KindLog     = "log"
	KindSession = "session"
	KindSample  = "sample"
)

// Sentinel errors of rule validation (wrapped with the rule's field path).
var (
	ErrRuleName        = errors.New("rule needs a unique, non-empty name")
	ErrUnknownRuleKind = errors.New("unknown rule kind (want span, log, session or sample)")
	ErrRuleKind        = errors.New("a rule has exactly one of span, log, session, sample")
	ErrBadCondition    = errors.New("invalid OTTL condition")
	ErrBadRegex        = errors.New("invalid regular expression")
	ErrSampleRatio     = errors.New("sample must be a ratio in [0, 1]")
	ErrEmptySession    = errors.New("session rule has no criteria")
	ErrNegativeMinimum = errors.New("session rule minimum must not be negative")
)

// Rule is one targeting rule of the configuration.
type Rule struct {
	// Name is stored with every decision the rule makes.
	Name string `mapstructure:"name"`
	// Kind is optional: it is inferred from the one of span/log/session/sample set.
	Kind string `mapstructure:"kind"`
	// Span is an OTTL condition in the span context (ottlspan).
	Span string `mapstructure:"span"`
	// Log is an OTTL condition in the log context (ottllog).
	Log string `mapstructure:"log"`
	// Session holds behavioural criteria, all of which must hold.
	Session *SessionRule `mapstructure:"session"`
	// Sample is the share of sessions retained, by a hash of session.id.
	Sample *float64 `mapstructure:"sample"`
}

// SessionRule criteria are ANDed; unset criteria are ignored.
type SessionRule struct {
	// Visited: every regex must match at least one URL of the session.
	Visited []string `mapstructure:"visited"`
	// NotVisited: no URL of the session may match any of these (conversion pages).
	NotVisited []string `mapstructure:"not_visited"`
	// Events: at least one of these custom event names was seen.
	Events []string `mapstructure:"events"`
	// MinDuration: the session lasted at least this long.
	MinDuration time.Duration `mapstructure:"min_duration"`
	// MinRageClicks: at least this many rage clicks.
	MinRageClicks int `mapstructure:"min_rage_clicks"`
	// MinDeadClicks: at least this many dead clicks (a click nothing
	// answered within a second: no DOM change, navigation or request).
	MinDeadClicks int `mapstructure:"min_dead_clicks"`
	// MinErrors: at least this many errors.
	MinErrors int `mapstructure:"min_errors"`
}

// KindOf returns the rule's kind, checking exactly one is set.
func (r *Rule) KindOf() (string, error) {
	var set []string
	if r.Span != "" {
		set = append(set, KindSpan)
	}
	if r.Log != "" {
		set = append(set, KindLog)
	}
	if r.Session != nil {
		set = append(set, KindSession)
	}
	if r.Sample != nil {
		set = append(set, KindSample)
	}
	switch r.Kind {
	case "", KindSpan, KindLog, KindSession, KindSample:
	default:
		return "", fmt.Errorf("kind %q: %w", r.Kind, ErrUnknownRuleKind)
	}
	if len(set) != 1 {
		return "", fmt.Errorf("%w (found %v)", ErrRuleKind, set)
	}
	if r.Kind != "" && r.Kind != set[0] {
		return "", fmt.Errorf("kind %q but %q is set: %w", r.Kind, set[0], ErrRuleKind)
	}
	return set[0], nil
}

type spanRule struct {
	name string
	cond *ottl.Condition[*ottlspan.TransformContext]
}

type logRule struct {
	name string
	cond *ottl.Condition[*ottllog.TransformContext]
}

type sessionRule struct {
	name          string
	visited       []*regexp.Regexp
	notVisited    []*regexp.Regexp
	events        map[string]bool
	minDuration   time.Duration
	minRageClicks int
	minDeadClicks int
	minErrors     int
}

type sampleRule struct {
	name      string
	threshold uint64
	all       bool
}

// Set is the compiled rules.
type Set struct {
	spans    []spanRule
	logs     []logRule
	sessions []sessionRule
	samples  []sampleRule
}

// Validate checks rules without keeping the compiled form; errors name the
// field (rules[i].span, ...).
func Validate(rules []Rule) error {
	_, err := Compile(rules, component.TelemetrySettings{Logger: zap.NewNop()})
	return err
}

// Compile parses every rule; all problems are joined, each naming its field.
func Compile(rules []Rule, ts component.TelemetrySettings) (*Set, error) {
	s := &Set{}
	var errs []error
	names := map[string]bool{}
	var spanParser *ottl.Parser[*ottlspan.TransformContext]
	var logParser *ottl.Parser[*ottllog.TransformContext]
	for i := range rules {
		r := &rules[i]
		field := fmt.Sprintf("rules[%d]", i)
		if r.Name == "" || names[r.Name] {
			errs = append(errs, fmt.Errorf("%s.name %q: %w", field, r.Name, ErrRuleName))
		}
		names[r.Name] = true
		kind, err := r.KindOf()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s (%s): %w", field, r.Name, err))
			continue
		}
		switch kind {
		case KindSpan:
			if spanParser == nil {
				p, err := ottlspan.NewParser(ottlfuncs.StandardConverters[*ottlspan.TransformContext](), ts)
				if err != nil {
					return nil, err
				}
				spanParser = &p
			}
			c, err := spanParser.ParseCondition(r.Span)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s.span (%s): %w: %v", field, r.Name, ErrBadCondition, err))
				continue
			}
			s.spans = append(s.spans, spanRule{name: r.Name, cond: c})
		case KindLog:
			if logParser == nil {
				p, err := ottllog.NewParser(ottlfuncs.StandardConverters[*ottllog.TransformContext](), ts)
				if err != nil {
					return nil, err
				}
				logParser = &p
			}
			c, err := logParser.ParseCondition(r.Log)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s.log (%s): %w: %v", field, r.Name, ErrBadCondition, err))
				continue
			}
			s.logs = append(s.logs, logRule{name: r.Name, cond: c})
		case KindSession:
			sr := sessionRule{name: r.Name, minDuration: r.Session.MinDuration, minRageClicks: r.Session.MinRageClicks,
				minDeadClicks: r.Session.MinDeadClicks, minErrors: r.Session.MinErrors}
			if r.Session.MinRageClicks < 0 || r.Session.MinDeadClicks < 0 || r.Session.MinErrors < 0 {
				errs = append(errs, fmt.Errorf("%s.session (%s): %w", field, r.Name, ErrNegativeMinimum))
				continue
			}
			for j, re := range r.Session.Visited {
				c, err := regexp.Compile(re)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s.session.visited[%d] (%s): %w: %v", field, j, r.Name, ErrBadRegex, err))
					continue
				}
				sr.visited = append(sr.visited, c)
			}
			for j, re := range r.Session.NotVisited {
				c, err := regexp.Compile(re)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s.session.not_visited[%d] (%s): %w: %v", field, j, r.Name, ErrBadRegex, err))
					continue
				}
				sr.notVisited = append(sr.notVisited, c)
			}
			if len(r.Session.Events) > 0 {
				sr.events = map[string]bool{}
				for _, e := range r.Session.Events {
					sr.events[e] = true
				}
			}
			if len(r.Session.Visited) == 0 && len(r.Session.Events) == 0 && r.Session.MinDuration <= 0 &&
				r.Session.MinRageClicks <= 0 && r.Session.MinDeadClicks <= 0 && r.Session.MinErrors <= 0 {
				errs = append(errs, fmt.Errorf("%s.session (%s): %w", field, r.Name, ErrEmptySession))
				continue
			}
			s.sessions = append(s.sessions, sr)
		case KindSample:
			ratio := *r.Sample
			if ratio < 0 || ratio > 1 || math.IsNaN(ratio) {
				errs = append(errs, fmt.Errorf("%s.sample (%s) %v: %w", field, r.Name, ratio, ErrSampleRatio))
				continue
			}
			s.samples = append(s.samples, sampleRule{name: r.Name, threshold: uint64(ratio * float64(math.MaxUint64)), all: ratio >= 1})
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return s, nil
}

// HasSpanRules, HasLogRules, HasSessionRules, HasSampleRules tell the
// receiver which evaluations it may skip.
func (s *Set) HasSpanRules() bool    { return s != nil && len(s.spans) > 0 }
func (s *Set) HasLogRules() bool     { return s != nil && len(s.logs) > 0 }
func (s *Set) HasSessionRules() bool { return s != nil && len(s.sessions) > 0 }
func (s *Set) HasSampleRules() bool  { return s != nil && len(s.samples) > 0 }

// MatchSpan returns the names of the span rules the span satisfies.
// Evaluation errors count as no match.
func (s *Set) MatchSpan(ctx context.Context, rs ptrace.ResourceSpans, ss ptrace.ScopeSpans, span ptrace.Span) []string {
	if !s.HasSpanRules() {
		return nil
	}
	tctx := ottlspan.NewTransformContext(rs, ss, span)
	defer tctx.Close()
	var out []string
	for i := range s.spans {
		if ok, err := s.spans[i].cond.Eval(ctx, tctx); err == nil && ok {
			out = append(out, s.spans[i].name)
		}
	}
	return out
}

// MatchLog returns the names of the log rules the record satisfies.
func (s *Set) MatchLog(ctx context.Context, rl plog.ResourceLogs, sl plog.ScopeLogs, lr plog.LogRecord) []string {
	if !s.HasLogRules() {
		return nil
	}
	tctx := ottllog.NewTransformContext(rl, sl, lr)
	defer tctx.Close()
	var out []string
	for i := range s.logs {
		if ok, err := s.logs[i].cond.Eval(ctx, tctx); err == nil && ok {
			out = append(out, s.logs[i].name)
		}
	}
	return out
}

// Sample returns the sample rules that keep this session.
func (s *Set) Sample(sessionID string) []string {
	if !s.HasSampleRules() {
		return nil
	}
	h := SessionHash(sessionID)
	var out []string
	for _, r := range s.samples {
		if r.all || (r.threshold > 0 && h < r.threshold) {
			out = append(out, r.name)
		}
	}
	return out
}

// SessionHash is the deterministic hash sampling uses: xxHash64 of the id,
// so every replica (and any other tool) makes the same choice.
func SessionHash(sessionID string) uint64 {
	return xxhash.Sum64String(sessionID)
}

// Facts is what the receiver remembers of a session for session rules.
type Facts struct {
	URLs       map[string]bool
	Events     map[string]bool
	Start, End time.Time
	RageClicks int
	DeadClicks int
	Errors     int
}

// MatchSession returns the session rules the facts satisfy.
func (s *Set) MatchSession(f *Facts) []string {
	if !s.HasSessionRules() {
		return nil
	}
	var out []string
	for i := range s.sessions {
		r := &s.sessions[i]
		if r.matches(f) {
			out = append(out, r.name)
		}
	}
	return out
}

func (r *sessionRule) matches(f *Facts) bool {
	for _, re := range r.visited {
		hit := false
		for u := range f.URLs {
			if matchURL(re, u) {
				hit = true
				break
			}
		}
		if !hit {
			return false
		}
	}
	for _, re := range r.notVisited {
		for u := range f.URLs {
			if matchURL(re, u) {
				return false
			}
		}
	}
	if r.events != nil {
		hit := false
		for e := range f.Events {
			if r.events[e] {
				hit = true
				break
			}
		}
		if !hit {
			return false
		}
	}
	if r.minDuration > 0 && f.End.Sub(f.Start) < r.minDuration {
		return false
	}
	if r.minRageClicks > 0 && f.RageClicks < r.minRageClicks {
		return false
	}
	if r.minDeadClicks > 0 && f.DeadClicks < r.minDeadClicks {
		return false
	}
	if r.minErrors > 0 && f.Errors < r.minErrors {
		return false
	}
	return true
}

// matchURL matches a page regex against the full URL and against its path
// (so "^/pricing" works for "https://shop.example/pricing?x=1").
func matchURL(re *regexp.Regexp, u string) bool {
	if re.MatchString(u) {
		return true
	}
	if p, err := url.Parse(u); err == nil && p.Path != "" && p.Path != u {
		return re.MatchString(p.Path)
	}
	return false
}
