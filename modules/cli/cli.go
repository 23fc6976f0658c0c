// Package cli is the `attune` command line: the server (`serve`), admin tasks
// (`migrate`, `pack`, `config`, `roles`) and `version`.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	ucli "github.com/urfave/cli/v2"

	"github.com/attune-system/attune/modules/buildinfo"
)

// ExitError carries a specific exit code up to Run.
type ExitError struct {
	Code int
	Err  error
}

func (e ExitError) Error() string { return e.Err.Error() }
func (e ExitError) Unwrap() error { return e.Err }

// Run executes the command line and returns the process exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	app := newApp(stdout, stderr)
	if err := app.RunContext(ctx, args); err != nil {
		var ee ExitError
		if errors.As(err, &ee) {
			if ee.Err != nil {
				fmt.Fprintln(stderr, "attune:", ee.Err)
			}
			return ee.Code
		}
		fmt.Fprintln(stderr, "attune:", err)
		return 1
	}
	return 0
}

// Main is what main.go calls.
func Main() int {
	return Run(context.Background(), os.Args, os.Stdout, os.Stderr)
}

var configFlag = &ucli.StringFlag{
	Name:    "config",
	Aliases: []string{"c"},
	Usage:   "configuration file (default: $ATTUNE_CONFIG, then ./attune.yaml if present)",
}

func newApp(stdout, stderr io.Writer) *ucli.App {
	return &ucli.App{
		Name:                 "attune",
		Usage:                "event-driven automation: sensors → rules → actions",
		Version:              buildinfo.Version,
		Writer:               stdout,
		ErrWriter:            stderr,
		EnableBashCompletion: true,
		HideVersion:          true,
		Flags:                []ucli.Flag{configFlag},
		Commands: []*ucli.Command{
			serveCommand(),
			rolesCommand(),
			configCommand(),
			migrateCommand(),
			packCommand(),
			versionCommand(),
		},
		ExitErrHandler: func(*ucli.Context, error) {}, // Run maps errors to exit codes
	}
}

func versionCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "version",
		Usage: "print the version",
		Action: func(c *ucli.Context) error {
			i := buildinfo.Get()
			fmt.Fprintf(c.App.Writer, "attune %s (commit %s, %s)\n", i.Version, i.Commit, i.GoVersion)
			return nil
		},
	}
}
