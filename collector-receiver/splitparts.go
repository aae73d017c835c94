package sessionreplayreceiver

import (
	"context"

	"github.com/seed/sessionreplay/collector-receiver/internal/formats"
	"github.com/seed/sessionreplay/pkg/store"
)

// storedParts keeps the parts of split rr-web events in ClickHouse, where
// every replica finds them (pkg/store.WritePendingParts).
type storedParts struct {
	r     *srReceiver
	parts int // how many were handed over, for the refusal count
}

func (p *storedParts) Gather(ctx context.Context, parts []formats.SplitPart) ([]formats.SplitPart, error) {
	p.parts = len(parts)
	rows := make([]store.PendingPart, len(parts))
	keys := make([]store.PartKey, len(parts))
	for i, sp := range parts {
		keys[i] = store.PartKey{SessionID: sp.SessionID, WindowID: sp.WindowID, Event: sp.Event, EventTime: sp.Time}
		rows[i] = store.PendingPart{PartKey: keys[i], Part: sp.Part, Total: sp.Total, Body: sp.Body}
	}
	qctx, cancel := context.WithTimeout(ctx, p.r.cfg.ClickHouse.Timeout)
	defer cancel()
	if err := p.r.writer.WritePendingParts(qctx, rows); err != nil {
		return nil, err
	}
	stored, err := p.r.reader.PendingPartsOf(qctx, keys)
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
