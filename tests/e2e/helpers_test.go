//go:build e2e

package e2e

import (
	"testing"
	"time"

	"github.com/seed/sessionreplay/tests/internal/stack"
)

// The short names the tests of this package use for tests/internal/stack,
// shared with tests/sdks.

func repoRoot(t *testing.T) string { return stack.RepoRoot(t) }

func freeAddr(t *testing.T) string { return stack.FreeAddr(t) }

func goBuild(t *testing.T, root, pkg string) string { return stack.GoBuild(t, root, pkg) }

func waitListening(t *testing.T, addr string, d time.Duration, logFile string) {
	t.Helper()
	stack.WaitListening(t, addr, d, logFile)
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	stack.WaitFor(t, d, what, ok)
}

func runNode(t *testing.T, root string, out any, script string, args ...string) {
	t.Helper()
	stack.RunNode(t, root, out, script, args...)
}
