package debian

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	"github.com/ulikunitz/xz"

	"github.com/kilnbuild/kiln/internal/atomicfile"
)

// LoadIndex reads the Packages indexes of arch from every suite and component
// of sources. For each suite it fetches InRelease, checks its OpenPGP
// signature against the source's SignedBy keyring (unless the source is
// Trusted), then fetches the Packages file the InRelease lists (.gz, else
// .xz, else uncompressed) into the pool, verified against the SHA256 the
// InRelease gives. Offline, the InRelease last fetched for each suite is used
// and the Packages files must be in the pool. Valid-Until is not checked. A
// suite of an Optional source that fails is skipped as a whole.
func (p *Pool) LoadIndex(ctx context.Context, sources []Source, arch string) (*Index, error) {
	ix := NewIndex(arch)
	for _, s := range sources {
		if len(s.Architectures) > 0 && !contains(s.Architectures, arch) {
			continue
		}
		for _, suite := range s.Suites {
			sub := NewIndex(arch)
			err := p.loadSuite(ctx, sub, s, suite, arch)
			if err == nil {
				ix.merge(sub)
			}
			switch {
			case err != nil && s.Optional && ctx.Err() == nil:
				if p.opts.skipped != nil {
					p.opts.skipped(s, suite, err)
				}
			case err != nil:
				return nil, fmt.Errorf("loading index of %s %s: %w", s.URI, suite, err)
			}
		}
	}
	return ix, nil
}

type release struct {
	byHash bool
	sha256 map[string]fileSum // path relative to the suite directory → sum
}

type fileSum struct {
	sha  string
	size int64
}

func (p *Pool) loadSuite(ctx context.Context, ix *Index, s Source, suite, arch string) error {
	flat := strings.HasSuffix(suite, "/")
	base := strings.TrimSuffix(s.URI, "/") + "/dists/" + suite
	if flat {
		base = strings.TrimSuffix(s.URI, "/") + "/" + strings.TrimSuffix(suite, "/")
	}
	rel, err := p.inRelease(ctx, s, base)
	if err != nil {
		return err
	}
	comps := s.Components
	if flat {
		comps = []string{""}
	}
	for _, comp := range comps {
		dir := comp + "/binary-" + arch + "/"
		if flat {
			dir = ""
		}
		name, sum, ok := "", fileSum{}, false
		// gzip decompresses several times faster than xz in pure Go.
		for _, ext := range []string{".gz", ".xz", ""} {
			if sum, ok = rel.sha256[dir+"Packages"+ext]; ok {
				name = dir + "Packages" + ext
				break
			}
		}
		if !ok {
			return fmt.Errorf("InRelease lists no %sPackages index", dir)
		}
		u := base + "/" + name
		if rel.byHash {
			u = base + "/" + dir + "by-hash/SHA256/" + sum.sha
		}
		path, err := p.Fetch(ctx, u, sum.sha, sum.size)
		if err != nil {
			return err
		}
		if err := readIndexFile(ix, path, name, s.URI); err != nil {
			return fmt.Errorf("reading %s: %w", u, err)
		}
	}
	return nil
}

func readIndexFile(ix *Index, path, name, uri string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var r io.Reader = f
	switch {
	case strings.HasSuffix(name, ".xz"):
		if r, err = xz.NewReader(f); err != nil {
			return err
		}
	case strings.HasSuffix(name, ".gz"):
		gz, err := gzip.NewReader(f)
		if err != nil {
			return err
		}
		defer gz.Close()
		r = gz
	}
	return ix.ReadPackages(r, uri)
}

// inRelease fetches (or, offline, reuses) the suite's InRelease, verifies it
// and parses its checksums.
func (p *Pool) inRelease(ctx context.Context, s Source, base string) (*release, error) {
	key := sha256.Sum256([]byte(base))
	cached := filepath.Join(p.dir, "release", hex.EncodeToString(key[:12])+"-InRelease")
	var data []byte
	if p.opts.offline {
		b, err := os.ReadFile(cached)
		if err != nil {
			return nil, fmt.Errorf("reading cached InRelease of %s: %w", base, ErrOffline)
		}
		data = b
	} else {
		rc, err := p.open(ctx, base+"/InRelease")
		if err != nil {
			return nil, fmt.Errorf("fetching %s/InRelease: %w", base, err)
		}
		data, err = io.ReadAll(io.LimitReader(rc, 64<<20))
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("fetching %s/InRelease: %w", base, err)
		}
	}
	text, err := verifyRelease(data, s)
	if err != nil {
		return nil, fmt.Errorf("verifying %s/InRelease: %w", base, err)
	}
	if !p.opts.offline {
		if err := atomicfile.WriteFile(cached, data, 0o644); err != nil {
			return nil, fmt.Errorf("caching %s/InRelease: %w", base, err)
		}
	}
	return parseRelease(text)
}

// verifyRelease returns the signed text of an InRelease file after checking
// its signature, or the text as is for a trusted source (which may then also
// be unsigned).
func verifyRelease(data []byte, s Source) ([]byte, error) {
	block, _ := clearsign.Decode(data)
	if s.Trusted {
		if block == nil {
			return data, nil
		}
		return block.Plaintext, nil
	}
	if block == nil {
		return nil, fmt.Errorf("not a clearsigned file: %w", ErrSignature)
	}
	if s.SignedBy == "" {
		return nil, fmt.Errorf("source %s has no keyring (Signed-By) and is not trusted: %w", s.URI, ErrSignature)
	}
	keyring, err := loadKeyring(s.SignedBy)
	if err != nil {
		return nil, err
	}
	if _, err := block.VerifySignature(keyring, nil); err != nil {
		return nil, fmt.Errorf("checking against %s: %v: %w", keyringName(s.SignedBy), err, ErrSignature)
	}
	return block.Plaintext, nil
}

func keyringName(signedBy string) string {
	if armored(signedBy) {
		return "the inline key"
	}
	return signedBy
}

// loadKeyring reads a keyring: an armored block given inline (deb822
// Signed-By, where empty lines are written "."), or a file, binary or
// armored.
func loadKeyring(signedBy string) (openpgp.EntityList, error) {
	var data []byte
	if armored(signedBy) {
		lines := strings.Split(signedBy, "\n")
		for i, l := range lines {
			if strings.TrimSpace(l) == "." {
				lines[i] = ""
			}
		}
		data = []byte(strings.Join(lines, "\n"))
	} else {
		b, err := os.ReadFile(signedBy)
		if err != nil {
			return nil, fmt.Errorf("reading keyring: %w", err)
		}
		data = b
	}
	if bytes.Contains(data, []byte("-----BEGIN PGP")) {
		el, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("reading keyring %s: %w", keyringName(signedBy), err)
		}
		return el, nil
	}
	el, err := openpgp.ReadKeyRing(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("reading keyring %s: %w", keyringName(signedBy), err)
	}
	return el, nil
}

func parseRelease(text []byte) (*release, error) {
	rel := &release{sha256: map[string]fileSum{}}
	var fields Paragraph
	err := ReadParagraphs(bytes.NewReader(text), nil, func(p Paragraph) error {
		if fields == nil {
			fields = p
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("parsing InRelease: %w", err)
	}
	rel.byHash = strings.EqualFold(fields.Get("Acquire-By-Hash"), "yes")
	for _, line := range strings.Split(fields.Get("SHA256"), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("parsing InRelease: bad size in %q", line)
		}
		rel.sha256[f[2]] = fileSum{sha: f[0], size: n}
	}
	if len(rel.sha256) == 0 {
		return nil, fmt.Errorf("parsing InRelease: no SHA256 checksums")
	}
	return rel, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
