package depcheck

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// pathCalls are the calls that open, stat, list, create, move or remove
// files by path (or resolve paths by following symlinks): on a tree a
// buildpack writes, each of them can be steered out of it by a symlink or
// a rename. Host-side code uses internal/beneath's handles there instead.
var pathCalls = map[string][]string{
	"os": {"Chmod", "Chown", "Chtimes", "Create", "CreateTemp", "DirFS", "Lchown", "Link", "Lstat", "Mkdir",
		"MkdirAll", "MkdirTemp", "Open", "OpenFile", "OpenRoot", "ReadDir", "ReadFile", "Readlink", "Remove",
		"RemoveAll", "Rename", "Stat", "Symlink", "Truncate", "WriteFile"},
	"path/filepath":                                 {"EvalSymlinks", "Glob", "Walk", "WalkDir"},
	"syscall":                                       {"Chmod", "Chown", "Lchown", "Lstat", "Mkdir", "Mkfifo", "Open", "Rename", "Rmdir", "Stat", "Unlink"},
	"golang.org/x/sys/unix":                         {"Chmod", "Chown", "Lchown", "Lstat", "Mkdir", "Open", "Rename", "Rmdir", "Stat", "Unlink"},
	"github.com/BurntSushi/toml":                    {"DecodeFile"},
	"github.com/cyphar/filepath-securejoin":         {"SecureJoin", "OpenInRoot"},
	"github.com/kilnbuild/kiln/internal/atomicfile": {"Create", "WriteFile"},
}

// PathCalls lists the path-based file calls (see pathCalls) in the
// non-test Go files of the package directory dir, as "file.go:line:
// pkg.Func in function". allowed maps "file.go:function" (the enclosing
// function or method name) to the reason the calls there are on trusted
// paths; a call there is not listed, and an allowance that matches no call
// is listed as stale.
func PathCalls(dir string, allowed map[string]string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	var found []string
	used := map[string]bool{}
	fset := token.NewFileSet()
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		imports := map[string]string{} // local name → import path
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			name := p[strings.LastIndex(p, "/")+1:]
			if imp.Name != nil {
				name = imp.Name.Name
			}
			imports[name] = p
		}
		base := filepath.Base(path)
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			key := base + ":" + fn.Name.Name
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				x, ok := sel.X.(*ast.Ident)
				if !ok {
					return true
				}
				pkg, ok := imports[x.Name]
				if !ok || !contains(pathCalls[pkg], sel.Sel.Name) {
					return true
				}
				if _, ok := allowed[key]; ok {
					used[key] = true
					return true
				}
				found = append(found, fmt.Sprintf("%s:%d: %s.%s in %s", base, fset.Position(call.Pos()).Line, x.Name, sel.Sel.Name, fn.Name.Name))
				return true
			})
		}
	}
	for key := range allowed {
		if !used[key] {
			found = append(found, fmt.Sprintf("%s: stale allowance (no path-based call there any more)", key))
		}
	}
	sort.Strings(found)
	return found, nil
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// AssertNoPathCalls fails t for each path-based file call in the package
// of the test (its directory), outside allowed (see PathCalls). As with
// the import checks, the rootless pass, which runs copies of the test
// binaries away from the sources, leaves it to the root pass.
func AssertNoPathCalls(t *testing.T, allowed map[string]string) {
	t.Helper()
	if os.Getenv("KILN_TEST_ROOTLESS") == "1" {
		t.Log("path-based calls are checked in the root pass")
		return
	}
	found, err := PathCalls(".", allowed)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range found {
		t.Errorf("%s: host-side code opens what buildpacks write through internal/beneath's handles, never by path "+
			"(a call on a path kiln alone controls needs an allowance saying so)", f)
	}
}
