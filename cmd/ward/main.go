// Command ward is the Ward FHIR R4 server.
//
// Usage:
//
//	ward serve [flags]           start the server
//	ward load [flags] PATH...    load FHIR files into a server or a data directory
//	ward version                 print the version
//
// Every flag has an environment twin named WARD_ plus the flag name in
// upper case with dashes as underscores (--data-dir is WARD_DATA_DIR). A
// flag given on the command line wins over its environment variable.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=..."; when it
// is not, the module version from the build info is used.
var version = ""

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one subcommand and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}

	var err error
	switch args[0] {
	case "serve":
		err = serve(ctx, args[1:], stderr)
	case "load":
		err = load(ctx, args[1:], stdout, stderr)
	case "version", "--version", "-version":
		_, _ = fmt.Fprintln(stdout, "ward", buildVersion())
		return 0
	case "help", "-h", "--help", "-help":
		usage(stdout)
		return 0
	default:
		_, _ = fmt.Fprintf(stderr, "ward: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}

	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		_, _ = fmt.Fprintln(stderr, "ward:", err)
		return 1
	}
	return 0
}

func usage(w io.Writer) {
	_, _ = fmt.Fprint(w, `Ward is a FHIR R4 server.

Usage:
  ward serve [flags]          start the server (ward serve -h lists the flags)
  ward load [flags] PATH...   load FHIR JSON, NDJSON and archives into a server
                              or a data directory (ward load -h tells more)
  ward version                print the version
`)
}

func buildVersion() string {
	if version != "" {
		return version
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return "dev"
}
