package store

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Filter is one ad hoc filter: Key Operator Value.
type Filter struct {
	Key      string `json:"key"`
	Operator string `json:"operator"`
	Value    string `json:"value"`
}

// Filter operators.
const (
	OpEq       = "="
	OpNotEq    = "!="
	OpMatch    = "=~"
	OpNotMatch = "!~"
	OpLess     = "<"
	OpGreater  = ">"
)

// AttributePrefix prefixes filter keys that address the session attributes map.
const AttributePrefix = "attributes."

type keyKind int

const (
	kindString keyKind = iota
	kindNumber
	kindArray
)

// filterKey is a whitelisted filter key: its value per session (an aggregate
// over the session's summary rows) and per summary row (for tag values).
type filterKey struct {
	agg  string // expression over a GROUP BY session_id
	row  string // expression over one summary row ("" = no value suggestions)
	kind keyKind
	// constant: the value is the same on every row of a session that has it
	// (the others leave it empty): device, OS, browser, country, service.
	constant bool
}

var filterKeys = map[string]filterKey{
	"device":      {agg: "max(device)", row: "toString(device)", kind: kindString, constant: true},
	"os":          {agg: "max(os)", row: "toString(os)", kind: kindString, constant: true},
	"browser":     {agg: "max(browser)", row: "toString(browser)", kind: kindString, constant: true},
	"country":     {agg: "max(country)", row: "toString(country)", kind: kindString, constant: true},
	"service":     {agg: "max(service_name)", row: "toString(service_name)", kind: kindString, constant: true},
	"user_id":     {agg: "max(user_id)", row: "user_id", kind: kindString},
	"url":         {agg: "groupUniqArrayArray(urls)", row: "arrayJoin(urls)", kind: kindArray},
	"entry_url":   {agg: "tupleElement(min(entry), 'url')", row: "tupleElement(entry, 'url')", kind: kindString},
	"duration_ms": {agg: "(toUnixTimestamp64Milli(max(end_time)) - toUnixTimestamp64Milli(min(start_time)))", kind: kindNumber},
	"clicks":      {agg: "sum(clicks)", kind: kindNumber},
	"rage_clicks": {agg: "sum(rage_clicks)", kind: kindNumber},
	"dead_clicks": {agg: "sum(dead_clicks)", kind: kindNumber},
	"errors":      {agg: "sum(errors)", kind: kindNumber},
	"pages":       {agg: "sum(page_views)", kind: kindNumber},
}

// FilterKeys are the fixed filter keys, sorted; attribute keys come from data.
func FilterKeys() []string {
	keys := make([]string, 0, len(filterKeys))
	for k := range filterKeys {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// lookupKey resolves a filter key; attribute keys bind their name.
func lookupKey(key string, p *params) (filterKey, error) {
	if name, ok := strings.CutPrefix(key, AttributePrefix); ok {
		if name == "" {
			return filterKey{}, invalidf("filter key %q: attribute name missing", key)
		}
		k := p.str(name)
		return filterKey{agg: "maxMap(attributes)[" + k + "]", row: "attributes[" + k + "]", kind: kindString}, nil
	}
	fk, ok := filterKeys[key]
	if !ok {
		return filterKey{}, invalidf("unknown filter key %q (known: %s, %s<name>)", key, strings.Join(FilterKeys(), ", "), AttributePrefix)
	}
	return fk, nil
}

// rowCondition is a condition on single summary rows that every row of a
// session passing the filter satisfies, for keys constant per session: a row
// either has the session's value or leaves it empty. It lets the grouping
// skip the rows of other sessions; the HAVING condition stays the judge.
func (f Filter) rowCondition(p *params) string {
	k, ok := filterKeys[f.Key]
	if !ok || !k.constant || f.Value == "" {
		return ""
	}
	col := strings.TrimSuffix(strings.TrimPrefix(k.row, "toString("), ")")
	switch f.Operator {
	case OpEq:
		return fmt.Sprintf("%s IN (%s, '')", col, p.str(f.Value))
	case OpMatch:
		return fmt.Sprintf("(%s = '' OR match(%s, %s))", col, col, p.str(anchored(f.Value)))
	}
	return ""
}

// condition renders one filter as a HAVING condition over a session group.
func (f Filter) condition(p *params) (string, error) {
	k, err := lookupKey(f.Key, p)
	if err != nil {
		return "", err
	}
	op := f.Operator
	switch k.kind {
	case kindNumber:
		v, err := strconv.ParseFloat(strings.TrimSpace(f.Value), 64)
		if err != nil {
			return "", invalidf("filter %s %s %q: %s is a number", f.Key, op, f.Value, f.Key)
		}
		switch op {
		case OpEq, OpNotEq, OpLess, OpGreater:
			return fmt.Sprintf("%s %s %s", k.agg, op, p.f64(v)), nil
		}
	case kindString:
		switch op {
		case OpEq, OpNotEq, OpLess, OpGreater:
			return fmt.Sprintf("%s %s %s", k.agg, op, p.str(f.Value)), nil
		case OpMatch:
			return fmt.Sprintf("match(%s, %s)", k.agg, p.str(anchored(f.Value))), nil
		case OpNotMatch:
			return fmt.Sprintf("NOT match(%s, %s)", k.agg, p.str(anchored(f.Value))), nil
		}
	case kindArray:
		switch op {
		case OpEq:
			return fmt.Sprintf("has(%s, %s)", k.agg, p.str(f.Value)), nil
		case OpNotEq:
			return fmt.Sprintf("NOT has(%s, %s)", k.agg, p.str(f.Value)), nil
		case OpMatch:
			return fmt.Sprintf("arrayExists(u -> match(u, %s), %s)", p.str(anchored(f.Value)), k.agg), nil
		case OpNotMatch:
			return fmt.Sprintf("NOT arrayExists(u -> match(u, %s), %s)", p.str(anchored(f.Value)), k.agg), nil
		}
	}
	return "", invalidf("filter %s: operator %q is not supported for this key", f.Key, op)
}

// anchored makes a regular expression match the whole value (as in
// Prometheus and Loki label matchers).
func anchored(re string) string { return "^(?:" + re + ")$" }

// SessionFilter selects sessions; shared by the list, the stats and the receiver.
type SessionFilter struct {
	TimeRange
	Filters      []Filter
	Search       string // case-insensitive substring of a URL or the user id
	HasErrors    bool
	RetainedOnly bool
}

// sql renders the row prefilter (WHERE over summary rows), the narrower row
// prefilter for choosing sessions (where + rowCondition of the filters: it may
// drop rows of sessions that pass, so it is not for computing their values),
// and the session conditions (HAVING over a GROUP BY session_id).
//
// A session lasts at most MaxSessionDuration, so every summary row of a
// session overlapping [from, to] starts within [from-max, to+max]: reading
// only those rows keeps every aggregate exact while ClickHouse skips the
// partitions (days) and granules (minmax index on start_time) outside.
func (f SessionFilter) sql(db string, p *params) (where, narrow, having string, err error) {
	if err := f.validate(); err != nil {
		return "", "", "", err
	}
	from, to := p.ms(f.From), p.ms(f.To)
	w := []string{
		fmt.Sprintf("start_time >= %s - INTERVAL %d SECOND", from, int64(MaxSessionDuration/time.Second)),
		fmt.Sprintf("start_time <= %s + INTERVAL %d SECOND", to, int64(MaxSessionDuration/time.Second)),
	}
	if f.RetainedOnly {
		// A decision is taken during the session or when it goes idle.
		// GLOBAL: on a cluster both tables are Distributed; the set is
		// built once and sent to the shards (a plain IN over a Distributed
		// table inside a distributed query is refused).
		w = append(w, fmt.Sprintf("session_id GLOBAL IN (SELECT session_id FROM %s.%s WHERE trigger_time >= %s - INTERVAL %d SECOND)",
			db, TableDecisions, from, int64((MaxSessionDuration+time.Hour)/time.Second)))
	}
	h := []string{"min(start_time) <= " + to, "max(end_time) >= " + from}
	if f.HasErrors {
		h = append(h, "sum(errors) > 0")
	}
	if s := strings.TrimSpace(f.Search); s != "" {
		q := p.str(s)
		h = append(h, fmt.Sprintf("(arrayExists(u -> positionCaseInsensitiveUTF8(u, %[1]s) > 0, groupUniqArrayArray(urls)) OR positionCaseInsensitiveUTF8(max(user_id), %[1]s) > 0)", q))
	}
	var n []string
	for _, flt := range f.Filters {
		c, err := flt.condition(p)
		if err != nil {
			return "", "", "", err
		}
		h = append(h, c)
		if rc := flt.rowCondition(p); rc != "" {
			n = append(n, rc)
		}
	}
	where = strings.Join(w, " AND ")
	narrow = strings.Join(append(w, n...), " AND ")
	return where, narrow, strings.Join(h, " AND "), nil
}

func (f SessionFilter) validate() error {
	if err := f.TimeRange.validate(); err != nil {
		return err
	}
	for _, flt := range f.Filters {
		switch flt.Operator {
		case OpEq, OpNotEq, OpMatch, OpNotMatch, OpLess, OpGreater:
		default:
			return invalidf("filter %s: unknown operator %q (use = != =~ !~ < >)", flt.Key, flt.Operator)
		}
	}
	return nil
}

// Session list orderings.
const (
	OrderStart    = "start"
	OrderDuration = "duration"
	OrderErrors   = "errors"
	OrderClicks   = "clicks"
	OrderPages    = "pages"
)

// orderBy maps an ordering to its expression over a session group (inner)
// and over the aggregated columns of the page (outer).
var orderBy = map[string]struct{ inner, outer string }{
	OrderStart:    {"min(start_time)", "s_start"},
	OrderDuration: {"(toUnixTimestamp64Milli(max(end_time)) - toUnixTimestamp64Milli(min(start_time)))", "(toUnixTimestamp64Milli(s_end) - toUnixTimestamp64Milli(s_start))"},
	OrderErrors:   {"sum(errors)", "s_errors"},
	OrderClicks:   {"sum(clicks)", "s_clicks"},
	OrderPages:    {"sum(page_views)", "s_pages"},
}

// ListQuery is a page of the session list.
type ListQuery struct {
	SessionFilter
	OrderBy  string // OrderStart (default), OrderDuration, OrderErrors, OrderClicks, OrderPages
	OrderDir string // "desc" (default) or "asc"
	Limit    int    // > 0
	Offset   int    // >= 0
}

// SessionRow is one line of the session list.
type SessionRow struct {
	SessionID    string
	Start        time.Time
	End          time.Time
	DurationMs   int64
	ActiveMs     uint64
	UserID       string
	Device       string
	OS           string
	Browser      string
	Country      string
	EntryURL     string
	Pages        uint64
	Clicks       uint64
	RageClicks   uint64
	DeadClicks   uint64
	Errors       uint64
	RetainedRule string // first rule that retained the session; empty when only buffered
}

// ListSessions returns one page of the sessions overlapping the time range
// that pass the filter.
//
// It runs as one statement in two steps. First the page's session ids are
// chosen by grouping only the summary rows in [from-4h, to+4h] (a session
// lasts at most MaxSessionDuration, so these hold every row of every session
// overlapping the range: the aggregates are exact), narrowed by the row
// conditions of per-session constant keys, and only the columns the filter
// and the ordering need. Then the displayed columns are aggregated for those
// sessions alone (the IN set uses the primary key, session_id). The sets are
// GLOBAL IN: on a cluster the page is chosen across every shard, once.
func (r *Reader) ListSessions(ctx context.Context, q ListQuery) ([]SessionRow, error) {
	p := newParams()
	where, narrow, having, err := q.SessionFilter.sql(r.db, p)
	if err != nil {
		return nil, err
	}
	if q.OrderBy == "" {
		q.OrderBy = OrderStart
	}
	ord, ok := orderBy[q.OrderBy]
	if !ok {
		return nil, invalidf("orderBy %q: use start, duration, errors, clicks or pages", q.OrderBy)
	}
	dir := "DESC"
	switch strings.ToLower(q.OrderDir) {
	case "", "desc":
	case "asc":
		dir = "ASC"
	default:
		return nil, invalidf("orderDir %q: use asc or desc", q.OrderDir)
	}
	if q.Limit <= 0 {
		return nil, invalidf("limit must be positive")
	}
	if q.Offset < 0 {
		return nil, invalidf("offset must not be negative")
	}
	limit, offset := p.u64(uint64(q.Limit)), p.u64(uint64(q.Offset))
	stmt := fmt.Sprintf(`SELECT s.session_id, s.s_start, s.s_end, s.s_active, s.s_user, s.s_device, s.s_os, s.s_browser, s.s_country,
    s.s_entry, s.s_pages, s.s_clicks, s.s_rage, s.s_dead, s.s_errors, r.rule
FROM (
    SELECT session_id, min(start_time) AS s_start, max(end_time) AS s_end, sum(active_ms) AS s_active, max(user_id) AS s_user,
        toString(max(device)) AS s_device, toString(max(os)) AS s_os, toString(max(browser)) AS s_browser,
        toString(max(country)) AS s_country, tupleElement(min(entry), 'url') AS s_entry,
        sum(page_views) AS s_pages, sum(clicks) AS s_clicks, sum(rage_clicks) AS s_rage, sum(dead_clicks) AS s_dead, sum(errors) AS s_errors
    FROM %[1]s.%[2]s FINAL
    WHERE %[3]s AND session_id GLOBAL IN (
        SELECT session_id FROM %[1]s.%[2]s FINAL
        WHERE %[13]s
        GROUP BY session_id
        HAVING %[4]s
        ORDER BY %[5]s %[7]s, session_id %[7]s
        LIMIT %[8]s OFFSET %[9]s
    )
    GROUP BY session_id
) AS s
LEFT JOIN (
    SELECT session_id, argMin(rule, trigger_time) AS rule FROM %[1]s.%[10]s
    WHERE trigger_time >= %[11]s - INTERVAL %[12]d SECOND
    GROUP BY session_id
) AS r ON r.session_id = s.session_id
ORDER BY %[6]s %[7]s, s.session_id %[7]s
SETTINGS %[14]s`,
		r.db, TableSessions, where, having, ord.inner, ord.outer, dir, limit, offset, TableDecisions,
		p.ms(q.From), int64((MaxSessionDuration+time.Hour)/time.Second), narrow, finalSettings)
	rows, err := r.conn.Query(withParams(ctx, p.p), stmt)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	defer rows.Close()
	out := []SessionRow{}
	for rows.Next() {
		var s SessionRow
		if err := rows.Scan(&s.SessionID, &s.Start, &s.End, &s.ActiveMs, &s.UserID, &s.Device, &s.OS, &s.Browser, &s.Country,
			&s.EntryURL, &s.Pages, &s.Clicks, &s.RageClicks, &s.DeadClicks, &s.Errors, &s.RetainedRule); err != nil {
			return nil, fmt.Errorf("list sessions: %w", err)
		}
		s.Start, s.End = s.Start.UTC(), s.End.UTC()
		s.DurationMs = s.End.Sub(s.Start).Milliseconds()
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	return out, nil
}
