package testutil

import (
	"archive/tar"
	"bytes"
	"strconv"
	"testing"
	"time"
)

// SparseTar returns a tar of one PAX 0.1 sparse file entry at name: size
// bytes of which only data, at offset, is stored; the rest are holes. It is
// how an attacker makes a 1 KiB layer of an arbitrarily large file.
// archive/tar writes no GNU.sparse records, so they are written under
// another prefix of the same length and renamed in the bytes: records are
// data of the PAX header entry, outside its checksum.
func SparseTar(t testing.TB, name string, size, offset int64, data string) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(data)),
		ModTime: time.Unix(315532801, 0), Format: tar.FormatPAX, PAXRecords: map[string]string{
			"KLN.sparse.map":       strconv.FormatInt(offset, 10) + "," + strconv.Itoa(len(data)),
			"KLN.sparse.size":      strconv.FormatInt(size, 10),
			"KLN.sparse.numblocks": "1",
		}}
	if err := tw.WriteHeader(hdr); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write([]byte(data)); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return bytes.ReplaceAll(buf.Bytes(), []byte(" KLN.sparse."), []byte(" GNU.sparse."))
}
