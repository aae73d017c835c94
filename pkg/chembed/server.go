// Package chembed runs a real ClickHouse (the npm-shipped libchdb.so) on
// loopback for the demo and the tests, for users who have no ClickHouse of
// their own. The server runs in a child process, re-executed from the current
// binary, so it can be stopped and started again and never outlives its parent.
package chembed

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/seed/sessionreplay/pkg/childproc"
)

// Config says where and how to serve. Zero values pick sensible defaults.
type Config struct {
	// LibPath is libchdb.so; empty fetches it into CacheDir.
	LibPath  string
	CacheDir string
	// DataDir holds the databases; it persists between runs.
	DataDir string
	// Host is the listen address, loopback by default.
	Host string
	// TCPPort (native protocol) and HTTPPort; 0 picks a free port.
	TCPPort  int
	HTTPPort int
	// ConfigFile is an optional ClickHouse config (remote_servers, ...).
	ConfigFile string
	// Users, when set, replace the default access: "default" keeps full
	// rights (no password) and each of these users is added. It cannot be
	// combined with ConfigFile.
	Users []User
	// Log receives the server's output; by default DataDir/chembed.log.
	Log io.Writer
	// StartTimeout bounds the wait for the server to answer.
	StartTimeout time.Duration
}

// User is a ClickHouse user of the embedded server.
type User struct {
	Name     string
	Password string
	// ReadOnly users may only read (ClickHouse's readonly = 2: no writes, no
	// DDL, but query settings such as max_execution_time may be set): the
	// account a Grafana data source should use.
	ReadOnly bool
}

// Server is a running embedded ClickHouse.
type Server struct {
	cfg     Config
	cmd     *exec.Cmd
	exited  chan struct{}
	exitErr error
	logFile *os.File
	tail    *tailBuffer
	version string
	stopMu  sync.Mutex
}

// Start fetches the library if needed, starts the server and waits until it
// answers queries.
func Start(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("chembed: DataDir is required")
	}
	if cfg.Host == "" {
		cfg.Host = "127.0.0.1"
	}
	if cfg.StartTimeout == 0 {
		cfg.StartTimeout = 60 * time.Second
	}
	if cfg.LibPath == "" {
		lib, err := Fetch(ctx, cfg.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("chembed: fetch libchdb: %w", err)
		}
		cfg.LibPath = lib
	}
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	cfg.DataDir = dataDir
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, err
	}
	if len(cfg.Users) > 0 {
		if cfg.ConfigFile != "" {
			return nil, errors.New("chembed: Users and ConfigFile cannot be combined")
		}
		if cfg.ConfigFile, err = writeUsersConfig(cfg.DataDir, cfg.Users); err != nil {
			return nil, err
		}
	}
	for _, port := range []*int{&cfg.TCPPort, &cfg.HTTPPort} {
		if *port == 0 {
			if *port, err = freePort(cfg.Host); err != nil {
				return nil, err
			}
		}
	}

	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	spec, _ := json.Marshal(childSpec{
		LibPath: cfg.LibPath, DataDir: cfg.DataDir, Host: cfg.Host,
		TCPPort: cfg.TCPPort, HTTPPort: cfg.HTTPPort, ConfigFile: cfg.ConfigFile,
	})
	s := &Server{cfg: cfg, exited: make(chan struct{}), tail: &tailBuffer{max: 8 << 10}}
	out := cfg.Log
	if out == nil {
		s.logFile, err = os.OpenFile(filepath.Join(cfg.DataDir, "chembed.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return nil, err
		}
		out = s.logFile
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), childEnv+"="+string(spec))
	cmd.Dir = cfg.DataDir
	cmd.Stdout = io.MultiWriter(out, s.tail)
	cmd.Stderr = io.MultiWriter(out, s.tail)
	// The child gets SIGTERM (and stops cleanly) if this process dies first.
	// It has its own process group, so a terminal's Ctrl-C reaches only this
	// process, which stops its clients before the server (ClickHouse waits for
	// open client connections when it shuts down).
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM, Setpgid: true}
	if err := childproc.Start(cmd); err != nil {
		s.closeLog()
		return nil, fmt.Errorf("chembed: start: %w", err)
	}
	s.cmd = cmd
	go func() {
		s.exitErr = cmd.Wait()
		s.closeLog()
		close(s.exited)
	}()

	if err := s.waitReady(ctx); err != nil {
		_ = s.Stop()
		return nil, err
	}
	return s, nil
}

func (s *Server) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(s.cfg.StartTimeout)
	for {
		if v, err := s.Query(ctx, "SELECT version()"); err == nil {
			s.version = strings.TrimSpace(v)
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("chembed: clickhouse exited during start (%v): %s", s.exitErr, s.tail.String())
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("chembed: clickhouse did not answer on %s within %s: %s", s.HTTPAddr(), s.cfg.StartTimeout, s.tail.String())
		}
	}
}

// probeClient keeps no idle connections: ClickHouse waits for open client
// connections when it shuts down, so a kept-alive probe would delay Stop.
var probeClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

// Query runs one statement over HTTP and returns its text output. It is meant
// for probes and test assertions, not for data paths (use clickhouse-go).
func (s *Server) Query(ctx context.Context, query string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+s.HTTPAddr()+"/", strings.NewReader(query))
	if err != nil {
		return "", err
	}
	resp, err := probeClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("clickhouse: %s", strings.TrimSpace(string(body)))
	}
	return string(body), nil
}

// Version is the server's version, as it reported it.
func (s *Server) Version() string { return s.version }

// TCPAddr is the native protocol address (clickhouse-go's default).
func (s *Server) TCPAddr() string { return hostPort(s.cfg.Host, s.cfg.TCPPort) }

// HTTPAddr is the HTTP interface address.
func (s *Server) HTTPAddr() string { return hostPort(s.cfg.Host, s.cfg.HTTPPort) }

// DSN is a clickhouse-go DSN for database on the native port.
func (s *Server) DSN(database string) string {
	u := url.URL{Scheme: "clickhouse", Host: s.TCPAddr(), Path: "/" + database}
	return u.String()
}

// PID is the server process id.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Done is closed when the server process has exited.
func (s *Server) Done() <-chan struct{} { return s.exited }

// ExitReport is, once Done is closed, how the process ended and the last of
// its output: what a test prints when a server dies under it.
func (s *Server) ExitReport() string {
	<-s.exited
	return fmt.Sprintf("%v; last output:\n%s", s.exitErr, s.tail.String())
}

// Stop asks the server to stop (it finishes the serving query, so ClickHouse
// shuts down through its own path, after running queries finish) and waits for
// the process to exit; after 45 s it kills it and reports an error.
func (s *Server) Stop() error {
	s.stopMu.Lock()
	defer s.stopMu.Unlock()
	select {
	case <-s.exited:
		return nil
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(45 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.exited
		return fmt.Errorf("chembed: clickhouse did not stop within 45s and was killed: %s", s.tail.String())
	}
	// An exit status after our SIGTERM is ClickHouse closing lingering client
	// connections (see stopServing); death by a signal is not a clean stop.
	var exit *exec.ExitError
	if errors.As(s.exitErr, &exit) && exit.ExitCode() < 0 {
		return fmt.Errorf("chembed: clickhouse stopped with %v: %s", s.exitErr, s.tail.String())
	}
	return nil
}

func (s *Server) closeLog() {
	if s.logFile != nil {
		s.logFile.Close()
	}
}

func hostPort(host string, port int) string { return net.JoinHostPort(host, strconv.Itoa(port)) }

func freePort(host string) (int, error) {
	l, err := net.Listen("tcp", hostPort(host, 0))
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tailBuffer keeps the last bytes of the server's output for error messages.
type tailBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf.Write(p)
	if over := t.buf.Len() - t.max; over > 0 {
		t.buf.Next(over)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(t.buf.String())
}
