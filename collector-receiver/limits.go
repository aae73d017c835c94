package sessionreplayreceiver

import (
	"crypto/subtle"
	"fmt"
	"math"
	"net"
	"net/http"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// HeaderIngestKey carries an ingest key; QueryIngestKey is its query-string
// form for navigator.sendBeacon, which cannot set headers.
const (
	HeaderIngestKey = "X-SessionReplay-Key"
	QueryIngestKey  = "key"
)

// maxLimiterKeys bounds the memory of one limiter (sessions or clients).
const maxLimiterKeys = 200000

// limiter is a set of token buckets keyed by session id or client address.
type limiter struct {
	rate  float64
	burst float64

	mu sync.Mutex
	m  map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(l RateLimit) *limiter {
	if l.Rate <= 0 {
		return nil
	}
	return &limiter{rate: l.Rate, burst: float64(l.Burst), m: map[string]*bucket{}}
}

// take removes n tokens from key's bucket. When there are not enough it
// takes nothing and says how long until there will be.
func (l *limiter) take(key string, n float64, now time.Time) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.m[key]
	if b == nil {
		if len(l.m) >= maxLimiterKeys {
			l.sweepLocked(now)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.m[key] = b
	} else {
		b.tokens = math.Min(l.burst, b.tokens+l.rate*now.Sub(b.last).Seconds())
		b.last = now
	}
	if n > l.burst {
		// a request bigger than the burst can never fit: let it through when
		// the bucket is full, so it is throttled but not refused forever.
		if b.tokens >= l.burst {
			b.tokens -= n
			return true, 0
		}
	} else if b.tokens >= n {
		b.tokens -= n
		return true, 0
	}
	need := math.Min(n, l.burst) - b.tokens
	return false, time.Duration(need / l.rate * float64(time.Second))
}

// sweepLocked forgets buckets that have refilled (they hold no information).
func (l *limiter) sweepLocked(now time.Time) {
	for k, b := range l.m {
		if b.tokens+l.rate*now.Sub(b.last).Seconds() >= l.burst {
			delete(l.m, k)
		}
	}
	if len(l.m) >= maxLimiterKeys {
		clear(l.m)
	}
}

// retryAfterSeconds rounds a wait up to whole seconds (at least 1).
func retryAfterSeconds(d time.Duration) int {
	s := int(math.Ceil(d.Seconds()))
	if s < 1 {
		s = 1
	}
	return s
}

func tooMany(what string, wait time.Duration) *httpError {
	ra := retryAfterSeconds(wait)
	return &httpError{code: http.StatusTooManyRequests, retryAfter: ra,
		msg: fmt.Sprintf("sessionreplay: %s rate limit exceeded, retry after %ds", what, ra)}
}

// clientKey is the remote IP address of the request (the TCP peer: put the
// limit on a proxy that knows the real client when there is one in front).
func clientKey(req *http.Request) string {
	host, _, err := net.SplitHostPort(req.RemoteAddr)
	if err != nil {
		return req.RemoteAddr
	}
	return host
}

// checkClient applies the per-client limit to one request.
func (r *srReceiver) checkClient(req *http.Request) *httpError {
	if ok, wait := r.perClient.take(clientKey(req), 1, time.Now()); !ok {
		return tooMany("per-client", wait)
	}
	return nil
}

// checkSessions applies the per-session limit: n chunks for each session.
// One limited session refuses the whole request (429 is retryable; a partial
// success would not be retried and would lose the other chunks).
func (r *srReceiver) checkSessions(perSession map[string]int) *httpError {
	if r.perSession == nil {
		return nil
	}
	now := time.Now()
	for sid, n := range perSession {
		if ok, wait := r.perSession.take(sid, float64(n), now); !ok {
			e := tooMany("per-session", wait)
			e.msg = fmt.Sprintf("sessionreplay: session %s over the per-session rate limit (%g chunks/s, burst %d), retry after %ds",
				clipID(sid), r.cfg.RateLimits.PerSession.Rate, r.cfg.RateLimits.PerSession.Burst, e.retryAfter)
			return e
		}
	}
	return nil
}

// admitSessions is checkSessions as decoding calls it.
func (r *srReceiver) admitSessions(perSession map[string]int) error {
	if herr := r.checkSessions(perSession); herr != nil {
		return herr
	}
	return nil
}

// ---- ingest keys ----

// authenticate checks the ingest key of a request, when keys are configured.
// It returns the key (nil when none are configured).
func (r *srReceiver) authenticate(req *http.Request) (*IngestKey, *httpError) {
	if len(r.cfg.IngestKeys) == 0 {
		return nil, nil
	}
	got := req.Header.Get(HeaderIngestKey)
	if got == "" {
		got = req.URL.Query().Get(QueryIngestKey)
	}
	if got == "" {
		return nil, &httpError{code: http.StatusUnauthorized, msg: "sessionreplay: missing ingest key (header " + HeaderIngestKey + " or query parameter ?" + QueryIngestKey + "=)"}
	}
	var key *IngestKey
	for i := range r.cfg.IngestKeys {
		if subtle.ConstantTimeCompare([]byte(r.cfg.IngestKeys[i].Key), []byte(got)) == 1 {
			key = &r.cfg.IngestKeys[i]
		}
	}
	if key == nil {
		return nil, &httpError{code: http.StatusUnauthorized, msg: "sessionreplay: unknown ingest key"}
	}
	if len(key.Origins) > 0 {
		origin := req.Header.Get("Origin")
		ok := false
		for _, o := range key.Origins {
			if o == origin {
				ok = true
				break
			}
		}
		if !ok {
			return nil, &httpError{code: http.StatusForbidden, msg: fmt.Sprintf("sessionreplay: origin %q is not allowed for this ingest key", clipID(origin))}
		}
	}
	return key, nil
}

// checkResources verifies that every resource of a request carries the
// key's service.name.
func checkResources(key *IngestKey, n int, res func(int) pcommon.Resource) *httpError {
	if key == nil {
		return nil
	}
	for i := 0; i < n; i++ {
		if s := str(res(i).Attributes(), AttrServiceName); s != key.Service {
			return &httpError{code: http.StatusForbidden,
				msg: fmt.Sprintf("sessionreplay: resource service.name %q does not match the ingest key's service %q", clipID(s), key.Service)}
		}
	}
	return nil
}

// clipID shortens an untrusted identifier for a message.
func clipID(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return s
}
