// Command litengine runs the LitEngine library-circulation engine and its tools.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=..."; otherwise
// it comes from the module's build information.
var version = ""

const usage = `LitEngine: a headless library-circulation engine.

Usage:
  litengine serve   [flags]       run the HTTP API (default: embedded SQLite in ./litengine.db)
  litengine import  [flags] FILE  load a catalogue CSV into the books table
  litengine migrate [flags]       apply database migrations
  litengine keys    SUBCOMMAND    create, list or revoke API keys (see "litengine keys")
  litengine version               print the version

Every flag can also be set with a LITENGINE_* environment variable
(--max-borrow is LITENGINE_MAX_BORROW); a flag wins over the environment.
Run "litengine COMMAND -h" for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	} else if err != nil {
		fmt.Fprintln(os.Stderr, "litengine:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	switch cmd, rest := args[0], args[1:]; cmd {
	case "serve":
		return serve(ctx, rest, stdout, stderr)
	case "import":
		return importCatalogue(ctx, rest, stdout, stderr)
	case "migrate":
		return migrate(ctx, rest, stdout, stderr)
	case "keys":
		return keys(ctx, rest, stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "litengine", buildVersion())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
}

func buildVersion() string {
	if version != "" {
		return version
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return "1.0.0-dev"
}
