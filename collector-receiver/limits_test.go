package sessionreplayreceiver

import (
	"errors"
	"testing"
	"time"
)

func TestLimiterTokenBucket(t *testing.T) {
	l := newLimiter(RateLimit{Rate: 2, Burst: 3})
	now := time.Unix(1000, 0)
	for i := 0; i < 3; i++ {
		if ok, _ := l.take("s", 1, now); !ok {
			t.Fatalf("burst token %d refused", i)
		}
	}
	ok, wait := l.take("s", 1, now)
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("over burst: ok=%v wait=%s", ok, wait)
	}
	if ok, _ := l.take("other", 1, now); !ok {
		t.Fatal("another key is limited")
	}
	if ok, _ := l.take("s", 1, now.Add(500*time.Millisecond)); !ok {
		t.Fatal("refilled token refused")
	}
	if newLimiter(RateLimit{}) != nil {
		t.Fatal("rate 0 must disable")
	}
	if ok, _ := (*limiter)(nil).take("x", 100, now); !ok {
		t.Fatal("nil limiter refuses")
	}
}

func TestValidateLimitsAndKeys(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.RateLimits.PerSession = RateLimit{Rate: 1, Burst: 0}
	cfg.IngestKeys = []IngestKey{{Key: "pk_a", Service: "s"}, {Key: "pk_a", Service: "s"}, {Key: "", Service: "x"}}
	cfg.MaxChunkEvents = 0
	err := cfg.Validate()
	for _, want := range []error{ErrBadRateLimit, ErrBadIngestKey, ErrBadSize} {
		if !errors.Is(err, want) {
			t.Errorf("want %v in %v", want, err)
		}
	}
	if err := createDefaultConfig().(*Config).Validate(); err != nil {
		t.Errorf("default config: %v", err)
	}
}
