package api

import "testing"

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Version
		ok   bool
	}{
		{"0.12", Version{0, 12}, true},
		{"1", Version{1, 0}, true},
		{"0.2", Version{0, 2}, true},
		{"", Version{}, false},
		{"0.x", Version{}, false},
		{"-1.2", Version{}, false},
		{"0.1.2", Version{}, false},
	} {
		got, err := Parse(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("Parse(%q) = %v, %v; want %v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestCompare(t *testing.T) {
	v := MustParse("0.10")
	if !v.AtLeast("0.9") || !v.AtLeast("0.10") || v.AtLeast("0.11") || !v.LessThan("1.0") {
		t.Errorf("0.10 compares wrongly")
	}
	if v.String() != "0.10" {
		t.Errorf("String = %q", v)
	}
}

func TestRange(t *testing.T) {
	r := Range{Min: Version{0, 7}, Max: Version{0, 9}}
	if got := r.Versions(); len(got) != 3 || got[0] != "0.7" || got[2] != "0.9" {
		t.Errorf("Versions() = %v", got)
	}
	if !r.Contains(MustParse("0.8")) || r.Contains(MustParse("0.10")) || r.Contains(MustParse("0.6")) || r.Contains(MustParse("1.8")) {
		t.Error("Contains is wrong")
	}
	if r.String() != "0.7–0.9" {
		t.Errorf("String() = %q", r.String())
	}
}
