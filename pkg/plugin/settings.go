package plugin

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

// Settings is the parsed configuration of one data source instance
// (docs/plugin-api.md, "Data source settings").
type Settings struct {
	Addresses           []string
	Protocol            string // "native" or "http"
	Database            string
	Username            string
	Password            string
	TLSEnabled          bool
	TLSSkipVerify       bool
	TLSCACert           string
	TLSClientCert       string
	TLSClientKey        string
	DialTimeout         time.Duration
	QueryTimeout        time.Duration
	MaxRows             int
	TracesDatasourceUID string
}

// Defaults of the settings.
const (
	DefaultAddress      = "127.0.0.1:9000"
	DefaultDatabase     = "sessionreplay"
	DefaultUsername     = "default"
	DefaultDialTimeout  = 10 * time.Second
	DefaultQueryTimeout = 60 * time.Second
	DefaultMaxRows      = 10000
)

// jsonSettings is jsonData as the frontend stores it. Numbers may arrive as
// strings (text inputs), so they are decoded leniently.
type jsonSettings struct {
	Addresses           []string `json:"addresses"`
	Protocol            string   `json:"protocol"`
	Database            string   `json:"database"`
	Username            string   `json:"username"`
	TLSEnabled          flexBool `json:"tlsEnabled"`
	TLSSkipVerify       flexBool `json:"tlsSkipVerify"`
	DialTimeoutSeconds  flexNum  `json:"dialTimeoutSeconds"`
	QueryTimeoutSeconds flexNum  `json:"queryTimeoutSeconds"`
	MaxRows             flexNum  `json:"maxRows"`
	TracesDatasourceUID string   `json:"tracesDatasourceUid"`
}

type flexNum struct {
	set bool
	v   float64
}

func (n *flexNum) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		return nil
	}
	var s string
	if json.Unmarshal(b, &s) == nil {
		s = strings.TrimSpace(s)
		if s == "" {
			return nil
		}
		b = []byte(s)
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("%s is not a number", b)
	}
	n.set, n.v = true, v
	return nil
}

type flexBool bool

func (f *flexBool) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch x := v.(type) {
	case bool:
		*f = flexBool(x)
	case string:
		*f = flexBool(x == "true" || x == "1")
	case float64:
		*f = x != 0
	}
	return nil
}

var dbIdent = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// LoadSettings parses and validates the instance settings. Its errors are the
// user's configuration errors (downstream).
func LoadSettings(s backend.DataSourceInstanceSettings) (Settings, error) {
	var j jsonSettings
	if len(bytes.TrimSpace(s.JSONData)) > 0 {
		if err := json.Unmarshal(s.JSONData, &j); err != nil {
			return Settings{}, settingsErr("jsonData: %v", err)
		}
	}
	out := Settings{
		Protocol:            strings.ToLower(strings.TrimSpace(j.Protocol)),
		Database:            strings.TrimSpace(j.Database),
		Username:            strings.TrimSpace(j.Username),
		TLSEnabled:          bool(j.TLSEnabled),
		TLSSkipVerify:       bool(j.TLSSkipVerify),
		DialTimeout:         DefaultDialTimeout,
		QueryTimeout:        DefaultQueryTimeout,
		MaxRows:             DefaultMaxRows,
		TracesDatasourceUID: strings.TrimSpace(j.TracesDatasourceUID),
		Password:            s.DecryptedSecureJSONData["password"],
		TLSCACert:           s.DecryptedSecureJSONData["tlsCACert"],
		TLSClientCert:       s.DecryptedSecureJSONData["tlsClientCert"],
		TLSClientKey:        s.DecryptedSecureJSONData["tlsClientKey"],
	}
	for _, a := range j.Addresses {
		if a = strings.TrimSpace(a); a != "" {
			out.Addresses = append(out.Addresses, a)
		}
	}
	if len(out.Addresses) == 0 {
		out.Addresses = []string{DefaultAddress}
	}
	for _, a := range out.Addresses {
		if _, port, err := net.SplitHostPort(a); err != nil || port == "" {
			return Settings{}, settingsErr("address %q: want host:port", a)
		}
	}
	switch out.Protocol {
	case "":
		out.Protocol = "native"
	case "native", "http":
	default:
		return Settings{}, settingsErr("protocol %q: use native or http", j.Protocol)
	}
	if out.Database == "" {
		out.Database = DefaultDatabase
	}
	if !dbIdent.MatchString(out.Database) {
		return Settings{}, settingsErr("database %q: must be an identifier ([A-Za-z_][A-Za-z0-9_]*)", out.Database)
	}
	if out.Username == "" {
		out.Username = DefaultUsername
	}
	if j.DialTimeoutSeconds.set {
		if j.DialTimeoutSeconds.v <= 0 {
			return Settings{}, settingsErr("dialTimeoutSeconds must be positive")
		}
		out.DialTimeout = time.Duration(j.DialTimeoutSeconds.v * float64(time.Second))
	}
	if j.QueryTimeoutSeconds.set {
		if j.QueryTimeoutSeconds.v <= 0 {
			return Settings{}, settingsErr("queryTimeoutSeconds must be positive")
		}
		out.QueryTimeout = time.Duration(j.QueryTimeoutSeconds.v * float64(time.Second))
	}
	if j.MaxRows.set {
		if j.MaxRows.v < 1 {
			return Settings{}, settingsErr("maxRows must be at least 1")
		}
		out.MaxRows = int(j.MaxRows.v)
	}
	if (out.TLSClientCert == "") != (out.TLSClientKey == "") {
		return Settings{}, settingsErr("TLS client certificate and key must be given together")
	}
	if _, err := out.tlsConfig(); err != nil {
		return Settings{}, err
	}
	return out, nil
}

func settingsErr(format string, a ...any) error {
	return backend.DownstreamError(fmt.Errorf("data source settings: "+format, a...))
}

// usesTLS: TLS is on when asked for, or implied by a CA or client certificate.
func (s Settings) usesTLS() bool {
	return s.TLSEnabled || s.TLSSkipVerify || s.TLSCACert != "" || s.TLSClientCert != ""
}

func (s Settings) tlsConfig() (*tls.Config, error) {
	if !s.usesTLS() {
		return nil, nil
	}
	cfg := &tls.Config{InsecureSkipVerify: s.TLSSkipVerify} //nolint:gosec // the user's explicit choice
	if s.TLSCACert != "" {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM([]byte(s.TLSCACert)) {
			return nil, settingsErr("tlsCACert: no PEM certificate found")
		}
		cfg.RootCAs = pool
	}
	if s.TLSClientCert != "" {
		cert, err := tls.X509KeyPair([]byte(s.TLSClientCert), []byte(s.TLSClientKey))
		if err != nil {
			return nil, settingsErr("TLS client certificate: %v", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// ClickHouseOptions are the clickhouse-go options of these settings. The
// connection has no default database: every query names Database, so a
// missing database is reported by the health check, not at connect time.
func (s Settings) ClickHouseOptions() (*clickhouse.Options, error) {
	tlsCfg, err := s.tlsConfig()
	if err != nil {
		return nil, err
	}
	opts := &clickhouse.Options{
		Addr:     s.Addresses,
		Protocol: clickhouse.Native,
		Auth:     clickhouse.Auth{Username: s.Username, Password: s.Password},
		TLS:      tlsCfg,
		// No server settings are sent: a readonly=1 user may not change any.
		// Each query runs under a context with the query timeout instead, and
		// the driver cancels the query on the server when it expires.
		DialTimeout:      s.DialTimeout,
		ReadTimeout:      s.QueryTimeout + 5*time.Second,
		ConnOpenStrategy: clickhouse.ConnOpenInOrder,
		MaxOpenConns:     10,
		MaxIdleConns:     5,
		ConnMaxLifetime:  time.Hour,
		Compression:      &clickhouse.Compression{Method: clickhouse.CompressionLZ4},
	}
	if s.Protocol == "http" {
		opts.Protocol = clickhouse.HTTP
		opts.Compression = &clickhouse.Compression{Method: clickhouse.CompressionGZIP}
	}
	return opts, nil
}

// Target names the server for messages: "host:port (native)".
func (s Settings) Target() string {
	return strings.Join(s.Addresses, ", ") + " (" + s.Protocol + ")"
}
