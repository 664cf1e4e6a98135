package distribution

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// maxImageFile bounds the size of a configuration file read from an image.
const maxImageFile = 1 << 20

// readImageFiles finds the regular files named by names (absolute paths) in
// img's merged file system, reading the layers from the top down and
// stopping once every name is found or known to be deleted (a whiteout, an
// opaque directory). Names not in the image are absent from the result.
func readImageFiles(ctx context.Context, img v1.Image, names []string) (map[string][]byte, error) {
	found := map[string][]byte{}
	if len(names) == 0 {
		return found, nil
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, err
	}
	settled := map[string]bool{}
	for i := len(layers) - 1; i >= 0 && len(settled) < len(names); i-- {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := scanLayer(layers[i], names, found, settled); err != nil {
			return nil, fmt.Errorf("reading layer %d: %w", i, err)
		}
	}
	return found, nil
}

// scanLayer records the wanted files one layer holds or deletes.
func scanLayer(l v1.Layer, names []string, found map[string][]byte, settled map[string]bool) error {
	rc, err := l.Uncompressed()
	if err != nil {
		return err
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	var opaque []string
	here := map[string]bool{}
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		name := path.Clean("/" + hdr.Name)
		dir, base := path.Split(name)
		switch {
		case base == ".wh..wh..opq":
			opaque = append(opaque, path.Clean(dir))
		case strings.HasPrefix(base, ".wh."):
			target := path.Join(dir, strings.TrimPrefix(base, ".wh."))
			if slices.Contains(names, target) && !settled[target] {
				settled[target] = true
			}
		case slices.Contains(names, name) && !settled[name]:
			here[name] = true // whatever it is, it hides lower layers
			if hdr.Typeflag != tar.TypeReg {
				delete(found, name)
				continue
			}
			data, err := io.ReadAll(io.LimitReader(tr, maxImageFile+1))
			if err != nil {
				return err
			}
			if len(data) > maxImageFile {
				return fmt.Errorf("%s is larger than %d bytes", name, maxImageFile)
			}
			found[name] = data
		}
	}
	for n := range here {
		settled[n] = true
	}
	for _, d := range opaque {
		for _, n := range names {
			if strings.HasPrefix(n, d+"/") {
				settled[n] = true
			}
		}
	}
	return nil
}
