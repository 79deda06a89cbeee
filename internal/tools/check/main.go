// Command check runs Ward's full verification: go vet, the tests (with the
// race detector when cgo can build it), staticcheck, gosec and, when its
// database can be reached, govulncheck. It needs only Go: the linters are
// fetched from the Go module proxy at pinned versions.
//
//	go run ./internal/tools/check          # everything
//	go run ./internal/tools/check -short   # vet and tests only
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"
)

// Pinned linter versions, upgraded on purpose rather than by drift.
const (
	staticcheck = "honnef.co/go/tools/cmd/staticcheck@v0.8.2"
	gosec       = "github.com/securego/gosec/v2/cmd/gosec@v2.30.0"
	govulncheck = "golang.org/x/vuln/cmd/govulncheck@v1.9.0"

	// vulnDB is where govulncheck reads its database by default.
	vulnDB = "https://vuln.go.dev/index/db.json.gz"
)

func main() {
	short := flag.Bool("short", false, "run go vet and the tests only, without the linters")
	race := flag.Bool("race", true, "run the tests with the race detector when cgo is available")
	flag.Parse()

	steps := []step{{"go vet", []string{"go", "vet", "./..."}}}
	steps = append(steps, testSteps(*race)...)
	if !*short {
		steps = append(steps,
			step{"staticcheck", []string{"go", "run", staticcheck, "./..."}},
			step{"gosec", []string{"go", "run", gosec, "-quiet", "-exclude-generated", "-exclude-dir=internal/tools", "./..."}},
		)
		if reachable(vulnDB) {
			steps = append(steps, step{"govulncheck", []string{"go", "run", govulncheck, "./..."}})
		} else {
			fmt.Println("check: skipping govulncheck: its vulnerability database cannot be reached from this machine")
		}
	}

	for _, s := range steps {
		fmt.Printf("check: %s: %s\n", s.name, strings.Join(s.args, " "))
		start := time.Now()
		if err := s.run(); err != nil {
			fmt.Fprintf(os.Stderr, "check: %s failed after %s: %v\n", s.name, time.Since(start).Round(time.Second), err)
			os.Exit(1)
		}
		fmt.Printf("check: %s passed in %s\n", s.name, time.Since(start).Round(time.Second))
	}
}

type step struct {
	name string
	args []string
}

func (s step) run() error {
	cmd := exec.Command(s.args[0], s.args[1:]...) // #nosec G204 -- the commands are the fixed list above
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	return cmd.Run()
}

// testSteps returns the test runs. The race detector slows the tests
// that replay whole public data sets (every R4 example, the Synthea
// bundles) about fourfold, so the race run uses -short, which those tests
// honour, and a second run without the race detector covers them.
func testSteps(race bool) []step {
	plain := step{"tests", []string{"go", "test", "-count=1", "-timeout=20m", "./..."}}
	if !race {
		return []step{plain}
	}
	if !cgoWorks() {
		fmt.Println("check: running the tests without -race: the race detector needs cgo and a C compiler")
		return []step{plain}
	}
	return []step{
		{"tests with -race", []string{"go", "test", "-count=1", "-race", "-short", "-timeout=20m", "./..."}},
		plain,
	}
}

func cgoWorks() bool {
	out, err := exec.Command("go", "env", "CGO_ENABLED", "CC").Output()
	if err != nil {
		return false
	}
	fields := strings.Fields(string(out))
	if len(fields) < 2 || fields[0] != "1" {
		return false
	}
	_, err = exec.LookPath(fields[1])
	return err == nil
}

// reachable reports whether url answers within a few seconds.
func reachable(url string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, url, nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.StatusCode < 500
}
