package tomlkeys

import (
	"slices"
	"testing"

	"github.com/BurntSushi/toml"
)

func TestUndecoded(t *testing.T) {
	var v struct {
		Known string `toml:"known"`
		Table struct {
			Kept string `toml:"kept"`
		} `toml:"table"`
	}
	md, err := toml.Decode("known = \"x\"\ntypo = 1\n[table]\nkept = \"y\"\nextra = 2\n[other]\na = 1\nb = 2\n", &v)
	if err != nil {
		t.Fatal(err)
	}
	got := Undecoded(md)
	want := []string{"typo", "table.extra", "other.a", "other.b"}
	if !slices.Equal(got, want) {
		t.Errorf("Undecoded = %q, want %q", got, want)
	}
}
