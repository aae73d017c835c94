package plugin

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend/log"

	"github.com/seed/sessionreplay/pkg/store"
)

// DefaultTagRange is the time range of tag-keys / tag-values when the
// request gives none.
const DefaultTagRange = 24 * time.Hour

func (d *Datasource) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /tag-keys", d.handleTagKeys)
	mux.HandleFunc("GET /tag-values", d.handleTagValues)
	mux.HandleFunc("GET /sessions/{id}/replay", d.handleReplay)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "unknown resource "+r.Method+" "+r.URL.Path+": use tag-keys, tag-values or sessions/<id>/replay")
	})
	return mux
}

type textValue struct {
	Text string `json:"text"`
}

func (d *Datasource) handleTagKeys(w http.ResponseWriter, r *http.Request) {
	tr, err := timeRangeParams(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), d.settings.QueryTimeout)
	defer cancel()
	keys, err := d.reader.TagKeys(ctx, tr, d.settings.MaxRows)
	if err != nil {
		writeError(w, httpStatus(downstream(err)), err.Error())
		return
	}
	writeTexts(w, keys)
}

func (d *Datasource) handleTagValues(w http.ResponseWriter, r *http.Request) {
	key := r.URL.Query().Get("key")
	if key == "" {
		writeError(w, http.StatusBadRequest, "tag-values: key is required")
		return
	}
	tr, err := timeRangeParams(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), d.settings.QueryTimeout)
	defer cancel()
	values, err := d.reader.TagValues(ctx, key, tr, d.settings.MaxRows)
	if err != nil {
		writeError(w, httpStatus(downstream(err)), err.Error())
		return
	}
	writeTexts(w, values)
}

// timeRangeParams reads from/to (unix ms); each defaults to the last
// DefaultTagRange.
func timeRangeParams(r *http.Request) (store.TimeRange, error) {
	to := time.Now()
	from := to.Add(-DefaultTagRange)
	var err error
	if v := r.URL.Query().Get("to"); v != "" {
		if to, err = parseMs("to", v); err != nil {
			return store.TimeRange{}, err
		}
		if r.URL.Query().Get("from") == "" {
			from = to.Add(-DefaultTagRange)
		}
	}
	if v := r.URL.Query().Get("from"); v != "" {
		if from, err = parseMs("from", v); err != nil {
			return store.TimeRange{}, err
		}
	}
	if to.Before(from) {
		return store.TimeRange{}, badQueryf("to is before from")
	}
	return store.TimeRange{From: from, To: to}, nil
}

func parseMs(name, v string) (time.Time, error) {
	ms, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil {
		return time.Time{}, badQueryf("%s=%q: want unix milliseconds", name, v)
	}
	return time.UnixMilli(ms).UTC(), nil
}

func writeTexts(w http.ResponseWriter, values []string) {
	out := make([]textValue, len(values))
	for i, v := range values {
		out[i] = textValue{Text: v}
	}
	writeJSON(w, http.StatusOK, out)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"encode response"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if _, err := w.Write(b); err != nil {
		log.DefaultLogger.Warn("write resource response", "error", err)
	}
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
