// Package treegen writes deterministic trees of mixed files for oci's
// layer benchmarks: the same size gives the same tree on any machine.
package treegen

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
)

// words feed the generated text files: source-like, so that they compress
// like real application trees do.
var words = []string{
	"func", "return", "if", "err", "nil", "for", "range", "package", "import", "var",
	"const", "type", "struct", "string", "int", "context", "layer", "image", "digest", "build",
	"{", "}", "(", ")", "=", ":=", "//", "the", "a", "of", "to", "and", "node_modules", "index.js",
	"require", "module.exports", "async", "await", "const", "let", "=>", "0", "1", "42", "true", "false",
}

// Generate writes a tree of about size bytes under dir: 30% many small text
// files, 30% medium files, 40% a few big files (half incompressible, half
// text), with a hard link every 50 small files and a symlink every 40. The
// same size gives the same tree on any machine (seeded PCG and ChaCha8).
func Generate(dir string, size int64) error {
	g := &generator{dir: dir, rng: rand.New(rand.NewPCG(1, 2)), noise: rand.NewChaCha8([32]byte{'k', 'i', 'l', 'n'})}
	small, medium := size*30/100, size*30/100
	big := size - small - medium
	for i := 0; small > 0; i++ {
		n := int64(512 + g.rng.IntN(7*1024))
		p := fmt.Sprintf("app/src/m%03d/file%05d.js", i/200, i)
		if err := g.text(p, n); err != nil {
			return err
		}
		small -= n
		switch {
		case i%50 == 0:
			if err := os.Link(filepath.Join(dir, p), filepath.Join(dir, p+".link")); err != nil {
				return err
			}
		case i%40 == 0:
			if err := os.Symlink(filepath.Base(p), filepath.Join(dir, p+".sym")); err != nil {
				return err
			}
		}
	}
	for i := 0; medium > 0; i++ {
		n := int64(100<<10 + g.rng.IntN(1900<<10))
		p := fmt.Sprintf("app/lib/part%03d.bin", i)
		var err error
		if i%2 == 0 {
			err = g.text(p, n)
		} else {
			err = g.random(p, n)
		}
		if err != nil {
			return err
		}
		medium -= n
	}
	for i := 0; big > 0; i++ {
		n := min(big, 40<<20)
		var err error
		if i%2 == 0 {
			err = g.random(fmt.Sprintf("data/blob%02d.bin", i), n)
		} else {
			err = g.text(fmt.Sprintf("data/log%02d.txt", i), n)
		}
		if err != nil {
			return err
		}
		big -= n
	}
	return nil
}

type generator struct {
	dir   string
	rng   *rand.Rand
	noise *rand.ChaCha8
	buf   []byte
}

func (g *generator) create(p string) (*os.File, error) {
	full := filepath.Join(g.dir, p)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		return nil, err
	}
	return os.Create(full)
}

func (g *generator) text(p string, n int64) error {
	f, err := g.create(p)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for written := int64(0); written < n; {
		word := words[g.rng.IntN(len(words))]
		sep := " "
		if g.rng.IntN(10) == 0 {
			sep = "\n"
		}
		k := min(int64(len(word)+1), n-written)
		w.WriteString((word + sep)[:k])
		written += k
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (g *generator) random(p string, n int64) error {
	f, err := g.create(p)
	if err != nil {
		return err
	}
	if g.buf == nil {
		g.buf = make([]byte, 1<<20)
	}
	for n > 0 {
		k := min(n, int64(len(g.buf)))
		_, _ = g.noise.Read(g.buf[:k])
		if _, err := f.Write(g.buf[:k]); err != nil {
			f.Close()
			return err
		}
		n -= k
	}
	return f.Close()
}

// Files writes n regular files of size bytes in all (give or take a few
// bytes per file) under dir, laid out like an installed package tree
// (node_modules, site-packages): one directory per package of up to 40
// files, in lib/ and src/ subdirectories, sizes drawn from an exponential
// distribution, one file in eight incompressible, and a symbolic link every
// 100 files. The same arguments give the same tree on any machine.
func Files(dir string, n int, size int64) error {
	g := &generator{dir: dir, rng: rand.New(rand.NewPCG(3, uint64(n))), noise: rand.NewChaCha8([32]byte{'f', 'i', 'l', 'e', 's'})}
	weights := make([]float64, n)
	var sum float64
	for i := range weights {
		weights[i] = g.rng.ExpFloat64()
		sum += weights[i]
	}
	for i, wt := range weights {
		sub := "lib"
		if i%3 == 0 {
			sub = "src"
		}
		p := fmt.Sprintf("pkg%05d/%s/f%06d", i/40, sub, i)
		k := max(int64(wt/sum*float64(size)), 16)
		var err error
		if i%8 == 7 {
			err = g.random(p+".bin", k)
		} else {
			err = g.text(p+".js", k)
		}
		if err != nil {
			return err
		}
		if i%100 == 99 {
			if err := os.Symlink(filepath.Base(p)+".js", filepath.Join(dir, p+".link")); err != nil {
				return err
			}
		}
	}
	return nil
}
