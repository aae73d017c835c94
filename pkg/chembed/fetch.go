package chembed

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// The ClickHouse build we embed: npm ships it as a shared library.
const (
	NPMPackage = "@chdb/lib-linux-x64-gnu"
	LibVersion = "26.7.3-stable.1"
)

// LibEnv names an existing libchdb.so to use instead of fetching one.
const LibEnv = "SESSIONREPLAY_LIBCHDB"

// DefaultCacheDir is where the library is kept between runs.
func DefaultCacheDir() string {
	if dir := os.Getenv("SESSIONREPLAY_CACHE_DIR"); dir != "" {
		return dir
	}
	if dir, err := os.UserCacheDir(); err == nil {
		return filepath.Join(dir, "sessionreplay")
	}
	return filepath.Join(os.TempDir(), "sessionreplay-cache")
}

// Fetch returns the path of libchdb.so, downloading it once into cacheDir with
// `npm pack` (so the user's npm registry, proxy and CA settings apply).
// Concurrent callers, such as test packages run in parallel, share one download.
func Fetch(ctx context.Context, cacheDir string) (string, error) {
	if p := os.Getenv(LibEnv); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", LibEnv, p, err)
		}
		return p, nil
	}
	if cacheDir == "" {
		cacheDir = DefaultCacheDir()
	}
	dir := filepath.Join(cacheDir, "chdb", LibVersion)
	lib := filepath.Join(dir, "libchdb.so")
	if _, err := os.Stat(lib); err == nil {
		return lib, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	unlock, err := lockFile(filepath.Join(dir, ".lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if _, err := os.Stat(lib); err == nil { // another process fetched it meanwhile
		return lib, nil
	}

	tmp, err := os.MkdirTemp(dir, "pack-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.CommandContext(ctx, "npm", "pack", "--silent", NPMPackage+"@"+LibVersion, "--pack-destination", tmp)
	cmd.Dir = tmp
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("npm pack %s@%s: %w: %s", NPMPackage, LibVersion, err, strings.TrimSpace(string(out)))
	}
	tgz, err := filepath.Glob(filepath.Join(tmp, "*.tgz"))
	if err != nil || len(tgz) != 1 {
		return "", fmt.Errorf("npm pack %s: no tarball in %s", NPMPackage, tmp)
	}
	part := lib + ".part"
	if err := extractFile(tgz[0], "package/libchdb.so", part); err != nil {
		return "", err
	}
	if err := os.Rename(part, lib); err != nil {
		return "", err
	}
	return lib, nil
}

func extractFile(tgz, name, dst string) error {
	f, err := os.Open(tgz)
	if err != nil {
		return err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("%s: %w", tgz, err)
	}
	tr := tar.NewReader(gz)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("%s: no %s inside", tgz, name)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", tgz, err)
		}
		if hdr.Name != name {
			continue
		}
		out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o755)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, tr); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	}
}

func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
