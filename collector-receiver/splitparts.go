package sessionreplayreceiver

import (
	"context"
	"time"

	"github.com/seed/sessionreplay/collector-receiver/internal/formats"
	"github.com/seed/sessionreplay/pkg/store"
)

// storedParts keeps the parts of split rr-web events in ClickHouse, where
// every replica finds them (pkg/store.WritePendingParts). It holds no state:
// one value may serve every request.
type storedParts struct {
	writer  *store.Writer
	reader  *store.Reader
	timeout time.Duration // bounds the write and the read together
}

func (p storedParts) Gather(ctx context.Context, parts []formats.SplitPart) ([]formats.SplitPart, error) {
	rows := make([]store.PendingPart, len(parts))
	keys := make([]store.PartKey, len(parts))
	for i, sp := range parts {
		keys[i] = store.PartKey{SessionID: sp.SessionID, WindowID: sp.WindowID, Event: sp.Event, EventTime: sp.Time}
		rows[i] = store.PendingPart{PartKey: keys[i], Part: sp.Part, Total: sp.Total, Body: sp.Body}
	}
	qctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	if err := p.writer.WritePendingParts(qctx, rows); err != nil {
		return nil, err
	}
	stored, err := p.reader.PendingPartsOf(qctx, keys)
	if err != nil {
		return nil, err
	}
	out := make([]formats.SplitPart, len(stored))
	for i, sp := range stored {
		out[i] = formats.SplitPart{SplitKey: formats.SplitKey{SessionID: sp.SessionID, WindowID: sp.WindowID, Event: sp.Event, Time: sp.EventTime},
			Part: sp.Part, Total: sp.Total, Body: sp.Body}
	}
	return out, nil
}
