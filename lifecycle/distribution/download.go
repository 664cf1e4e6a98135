package distribution

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
)

// download fetches an http(s) locator into a staging file.
func (f *fetcher) download(ctx context.Context, url string) (file string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := f.o.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("downloading %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("downloading %s: %s", url, resp.Status)
	}
	stage, err := f.stageDir()
	if err != nil {
		return "", err
	}
	file = filepath.Join(stage, "download")
	out, err := os.Create(file)
	if err != nil {
		return "", err
	}
	defer func() {
		if cerr := out.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	if _, err := io.Copy(out, resp.Body); err != nil {
		return "", fmt.Errorf("downloading %s: %w", url, err)
	}
	return file, nil
}
