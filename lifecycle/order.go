package lifecycle

import (
	"fmt"

	"github.com/BurntSushi/toml"
)

// Order is a list of groups tried in turn: order.toml's [[order]], or a
// composite buildpack's.
type Order []OrderGroup

// OrderGroup is one [[order]] entry.
type OrderGroup struct {
	Group []GroupEntry `toml:"group"`
}

// GroupEntry names a buildpack in an order, a group or a plan's providers.
// Optional is only meaningful in orders; API and Homepage only in groups.
type GroupEntry struct {
	ID       string `toml:"id"`
	Version  string `toml:"version"`
	API      string `toml:"api,omitempty"`
	Homepage string `toml:"homepage,omitempty"`
	Optional bool   `toml:"optional,omitempty"`
}

func (e GroupEntry) String() string { return e.ID + "@" + e.Version }

// orderFile is the shape of order.toml.
type orderFile struct {
	Order Order `toml:"order"`
}

// ReadOrder reads an order.toml file.
func ReadOrder(path string) (Order, error) {
	var f orderFile
	if _, err := toml.DecodeFile(path, &f); err != nil {
		return nil, fmt.Errorf("reading order %s: %w", path, err)
	}
	return f.Order, nil
}
