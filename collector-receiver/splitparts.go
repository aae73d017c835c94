package sessionreplayreceiver

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/config/configopaque"
	"go.uber.org/zap"

	"github.com/seed/sessionreplay/collector-receiver/internal/formats"
	"github.com/seed/sessionreplay/collector-receiver/internal/sealed"
	"github.com/seed/sessionreplay/pkg/store"
)

// storedParts keeps the parts of split rr-web events in ClickHouse, where
// every replica finds them (pkg/store.WritePendingParts). A part is a
// fragment of JSON the privacy masker cannot read, so it is stored sealed
// (internal/sealed) under privacy.split_parts_key, which ClickHouse never
// sees. It holds no state: one value serves every request.
type storedParts struct {
	writer  *store.Writer
	reader  *store.Reader
	box     *sealed.Box
	timeout time.Duration // bounds the write and the read together
	logger  *zap.Logger
	warned  *atomic.Bool // the key mismatch is logged once
}

// partsBox is the box of the configured key, or of a key of this process
// alone.
func partsBox(key configopaque.String) (*sealed.Box, error) {
	if key == "" {
		return sealed.Random()
	}
	k, err := sealed.ParseKey(string(key))
	if err != nil {
		return nil, fmt.Errorf("privacy.split_parts_key: %w", err)
	}
	return sealed.New(k)
}

// partRow is the associated data that binds a sealed part to its row.
func partRow(k store.PartKey, part, total int64) []byte {
	return fmt.Appendf(nil, "%s\x00%s\x00%d\x00%d\x00%d\x00%d", k.SessionID, k.WindowID, k.Event, k.EventTime, part, total)
}

func (p storedParts) Gather(ctx context.Context, parts []formats.SplitPart) ([]formats.SplitPart, error) {
	rows := make([]store.PendingPart, len(parts))
	keys := make([]store.PartKey, len(parts))
	for i, sp := range parts {
		keys[i] = store.PartKey{SessionID: sp.SessionID, WindowID: sp.WindowID, Event: sp.Event, EventTime: sp.Time}
		rows[i] = store.PendingPart{PartKey: keys[i], Part: sp.Part, Total: sp.Total, Body: p.box.Seal(sp.Body, partRow(keys[i], sp.Part, sp.Total))}
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
	out := make([]formats.SplitPart, 0, len(stored))
	for _, sp := range stored {
		body, err := p.box.Open(sp.Body, partRow(sp.PartKey, sp.Part, sp.Total))
		if err != nil {
			// another replica's key: the event stays incomplete here
			if p.warned.CompareAndSwap(false, true) {
				p.logger.Warn("a split rr-web event has parts sealed under another key: set privacy.split_parts_key to the same key on every replica",
					zap.String("session.id", sp.SessionID))
			}
			continue
		}
		out = append(out, formats.SplitPart{SplitKey: formats.SplitKey{SessionID: sp.SessionID, WindowID: sp.WindowID, Event: sp.Event, Time: sp.EventTime},
			Part: sp.Part, Total: sp.Total, Body: body})
	}
	return out, nil
}
