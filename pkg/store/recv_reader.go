package store

import (
	"context"
	"fmt"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// RetainedSessions returns which of the given sessions have a retention
// decision in ClickHouse (any rule). The collector receiver asks this on a
// decision-cache miss, so that several replicas agree without shared memory.
func (r *Reader) RetainedSessions(ctx context.Context, sessionIDs []string) (map[string]bool, error) {
	out := make(map[string]bool, len(sessionIDs))
	if len(sessionIDs) == 0 {
		return out, nil
	}
	q := fmt.Sprintf(`SELECT DISTINCT session_id FROM %s.%s WHERE session_id IN {ids:Array(String)}`, r.db, TableDecisions)
	rows, err := r.conn.Query(clickhouse.Context(ctx, clickhouse.WithParameters(clickhouse.Parameters{"ids": arrayParam(sessionIDs)})), q)
	if err != nil {
		return nil, fmt.Errorf("read decisions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out[s] = true
	}
	return out, rows.Err()
}

// arrayParam renders a server-side parameter value of type Array(String).
func arrayParam(vals []string) string {
	b := make([]byte, 0, 16*len(vals))
	b = append(b, '[')
	for i, v := range vals {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '\'')
		for j := 0; j < len(v); j++ {
			switch v[j] {
			case '\'', '\\':
				b = append(b, '\\', v[j])
			default:
				b = append(b, v[j])
			}
		}
		b = append(b, '\'')
	}
	return string(append(b, ']'))
}
