package debian

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/kilnbuild/kiln/internal/atomicfile"
)

// Pool is a directory of files downloaded from repositories and addressed by
// their SHA256 (.debs and compressed Packages indexes), plus the last
// InRelease file seen for each suite. Files enter it verified and by rename,
// so a pool shared by concurrent processes never holds a partial file.
type Pool struct {
	dir  string
	opts options
}

// OpenPool opens (creating) the pool in dir.
func OpenPool(dir string, opts ...Option) (*Pool, error) {
	for _, d := range []string{"sha256", "release"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, fmt.Errorf("opening package pool %s: %w", dir, err)
		}
	}
	return &Pool{dir: dir, opts: makeOptions(opts)}, nil
}

// Path is where the file with the given SHA256 lives in the pool.
func (p *Pool) Path(sha string) string { return filepath.Join(p.dir, "sha256", sha) }

// Has reports whether the pool holds the file with this SHA256; a string
// that is not a SHA256 names nothing there (never a path outside).
func (p *Pool) Has(sha string) bool {
	if !isSHA256(sha) {
		return false
	}
	_, err := os.Stat(p.Path(sha))
	return err == nil
}

func isSHA256(s string) bool { return len(s) == 64 && strings.Trim(s, "0123456789abcdef") == "" }

// Fetch makes sure the pool holds the file at rawURL whose SHA256 is sha (and
// whose size is size, when positive) and returns its path. A file already
// present is not downloaded again.
func (p *Pool) Fetch(ctx context.Context, rawURL, sha string, size int64) (string, error) {
	if !isSHA256(sha) {
		return "", fmt.Errorf("fetching %s: bad SHA256 %q", rawURL, sha)
	}
	dst := p.Path(sha)
	if p.Has(sha) {
		return dst, nil
	}
	if p.opts.offline {
		return "", fmt.Errorf("fetching %s (sha256:%s): %w", rawURL, sha[:12], ErrOffline)
	}
	p.opts.logger.Debug("downloading", "url", rawURL)
	rc, err := p.open(ctx, rawURL)
	if err != nil {
		return "", fmt.Errorf("fetching %s: %w", rawURL, err)
	}
	defer rc.Close()
	if err := p.store(rc, dst, sha, size, rawURL); err != nil {
		return "", err
	}
	return dst, nil
}

func (p *Pool) store(r io.Reader, dst, sha string, size int64, source string) error {
	tmp, err := atomicfile.Create(dst, 0o644)
	if err != nil {
		return fmt.Errorf("storing %s: %w", source, err)
	}
	defer tmp.Abort() // a no-op once committed
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), r)
	if err != nil {
		return fmt.Errorf("downloading %s: %w", source, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sha || (size > 0 && n != size) {
		return fmt.Errorf("downloading %s: got sha256:%s (%d bytes), want sha256:%s (%d bytes): %w", source, got, n, sha, size, ErrChecksum)
	}
	if err := tmp.Commit(); err != nil {
		return fmt.Errorf("storing %s: %w", source, err)
	}
	return nil
}

// open opens rawURL: http(s) through the client, file: from the disk.
func (p *Pool) open(ctx context.Context, rawURL string) (io.ReadCloser, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	switch u.Scheme {
	case "file":
		return os.Open(u.Path)
	case "http", "https":
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
		if err != nil {
			return nil, err
		}
		resp, err := p.opts.client.Do(req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			if resp.StatusCode == http.StatusNotFound {
				return nil, fmt.Errorf("%s: %w", resp.Status, fs.ErrNotExist)
			}
			return nil, errors.New(resp.Status)
		}
		return resp.Body, nil
	}
	return nil, fmt.Errorf("unsupported URL scheme %q", u.Scheme)
}
