package debian

import "testing"

func TestCompareVersions(t *testing.T) {
	// Results agree with `dpkg --compare-versions`.
	tests := []struct {
		a, b string
		want int
	}{
		{"1.0", "1.0", 0},
		{"1.0", "1.1", -1},
		{"1.10", "1.9", 1},
		{"1.0~rc1", "1.0", -1},
		{"1.0~~", "1.0~", -1},
		{"1.0~", "1.0", -1},
		{"1.0", "1.0+b1", -1},
		{"1.0a", "1.0", 1},
		{"1.0a", "1.0+", -1}, // letters sort before other characters
		{"1:0.1", "2.0", 1},
		{"0:2.0", "2.0", 0},
		{"2.0-1", "2.0-2", -1},
		{"2.0-10", "2.0-9", 1},
		{"2.0", "2.0-0", 0},
		{"2.36-9+deb12u10", "2.36-9+deb12u4", 1},
		{"3.11.2-6+deb12u5", "3.11.2-6", 1},
		{"1.2.3-1~bpo12+1", "1.2.3-1", -1},
		{"007", "7", 0},
		{"1.0.0", "1.0", 1},
		{"1:1.35.0-4+deb12u1+b1", "1:1.35.0-4", 1},
		{"10.0-1", "9.99-1", 1},
		{"0", "\x00", 1}, // an unparsable version sorts first; once an endless loop
		{"1.0\x00", "1.0", -1},
	}
	for _, tt := range tests {
		if got := CompareVersions(tt.a, tt.b); got != tt.want {
			t.Errorf("CompareVersions(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := CompareVersions(tt.b, tt.a); got != -tt.want {
			t.Errorf("CompareVersions(%q, %q) = %d, want %d", tt.b, tt.a, got, -tt.want)
		}
	}
}

func TestParseVersion(t *testing.T) {
	tests := []struct {
		in      string
		want    Version
		wantErr bool
	}{
		{in: "1.0", want: Version{Upstream: "1.0"}},
		{in: "2:1.0-3-4", want: Version{Epoch: 2, Upstream: "1.0-3", Revision: "4"}},
		{in: "", wantErr: true},
		{in: "a:1.0", wantErr: true},
		{in: ":1.0", wantErr: true},
		{in: "1:-1", wantErr: true},
		{in: "0--", wantErr: true},
		{in: "1.0 -1", wantErr: true},
		{in: "99999999999:1", wantErr: true},
		{in: "0:1:2", want: Version{Upstream: "1:2"}},
		{in: "0:1-a:b", want: Version{Upstream: "1", Revision: "a:b"}},
	}
	for _, tt := range tests {
		got, err := ParseVersion(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseVersion(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			continue
		}
		if err == nil && got != tt.want {
			t.Errorf("ParseVersion(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
		if err == nil && got.String() != tt.in {
			t.Errorf("ParseVersion(%q).String() = %q", tt.in, got.String())
		}
	}
}
