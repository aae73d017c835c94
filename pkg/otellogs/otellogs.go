// Package otellogs is the anchor our benchmarks compare with: the otel_logs
// table of the OpenTelemetry Collector's ClickHouse exporter, where HyperDX and
// similar tools keep rrweb events, one row per event, the session id in the
// resource attribute rum.sessionId. It is not used by the product itself.
package otellogs

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// DDL creates db.otel_logs, the exporter's table reduced to its columns.
func DDL(db string) string {
	return fmt.Sprintf(`CREATE TABLE %s.otel_logs (
    Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1)),
    TimestampTime DateTime DEFAULT toDateTime(Timestamp),
    TraceId String CODEC(ZSTD(1)),
    SpanId String CODEC(ZSTD(1)),
    TraceFlags UInt8,
    SeverityText LowCardinality(String) CODEC(ZSTD(1)),
    SeverityNumber UInt8,
    ServiceName LowCardinality(String) CODEC(ZSTD(1)),
    Body String CODEC(ZSTD(1)),
    ResourceSchemaUrl LowCardinality(String) CODEC(ZSTD(1)),
    ResourceAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    ScopeSchemaUrl LowCardinality(String) CODEC(ZSTD(1)),
    ScopeName String CODEC(ZSTD(1)),
    ScopeVersion LowCardinality(String) CODEC(ZSTD(1)),
    ScopeAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    LogAttributes Map(LowCardinality(String), String) CODEC(ZSTD(1))
) ENGINE = MergeTree
PARTITION BY toDate(TimestampTime)
PRIMARY KEY (ServiceName, TimestampTime)
ORDER BY (ServiceName, TimestampTime, Timestamp)`, db)
}

// Event is one rrweb event: its time and its JSON.
type Event struct {
	Time time.Time
	JSON []byte
}

// Insert writes events of one session as the exporter does: one row per
// event in one batch, with the rr-web.* attributes of the HyperDX format.
func Insert(ctx context.Context, conn driver.Conn, db, service, sessionID string, events []Event) error {
	batch, err := conn.PrepareBatch(ctx,
		"INSERT INTO "+db+".otel_logs (Timestamp, ServiceName, Body, ResourceAttributes, ScopeName, LogAttributes, SeverityText)",
		driver.WithReleaseConnection())
	if err != nil {
		return err
	}
	defer batch.Abort() //nolint:errcheck // no-op after Send
	res := map[string]string{"service.name": service, "rum.sessionId": sessionID, "telemetry.sdk.name": "hyperdx-browser"}
	for i, e := range events {
		attrs := map[string]string{"rr-web.event": strconv.Itoa(i), "rr-web.offset": "0", "rr-web.chunk": "1", "rr-web.total-chunks": "1"}
		if err := batch.Append(e.Time, service, string(e.JSON), res, "rum.rr-web", attrs, "INFO"); err != nil {
			return err
		}
	}
	return batch.Send()
}
