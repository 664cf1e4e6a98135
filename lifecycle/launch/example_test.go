package launch_test

import (
	"fmt"

	"github.com/kilnbuild/kiln/lifecycle/launch"
)

// ExampleParseMetadata reads metadata.toml as the builder writes it and finds
// the process /cnb/process/web starts.
func ExampleParseMetadata() {
	md, err := launch.ParseMetadata([]byte(`buildpack-default-process-type = "web"

[[buildpacks]]
  id = "samples/hello"
  version = "0.0.1"
  api = "0.10"

[[processes]]
  type = "web"
  command = ["./server", "--port"]
  args = ["8080"]
  direct = true
  buildpack-id = "samples/hello"
`))
	if err != nil {
		panic(err)
	}
	web, _ := md.FindProcess("web")
	fmt.Println(md.DefaultProcessType, web.Command, web.Args, web.Direct)
	// Output: web [./server --port] [8080] true
}
