package cli

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/attune-system/attune/modules/app"
)

func serveCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "serve",
		Usage: "run the platform (all roles, or a subset with --roles)",
		Description: "Starts the selected modules against one PostgreSQL and (when roles are split across\n" +
			"processes) one RabbitMQ. SIGTERM/SIGINT drains within shutdown.grace_period and exits 0;\n" +
			"a second signal exits at once.",
		Flags: []ucli.Flag{
			&ucli.StringFlag{Name: "roles", Value: "all", EnvVars: []string{"ATTUNE_ROLES"},
				Usage: "comma-separated modules to run (see `attune roles`), or all"},
			&ucli.StringFlag{Name: "host", Usage: "listen host (server.host)"},
			&ucli.IntFlag{Name: "port", Usage: "listen port (server.port)"},
			&ucli.StringFlag{Name: "database-url", Usage: "PostgreSQL URL (database.url)"},
			&ucli.StringFlag{Name: "log-level", Usage: "debug|info|warn|error (log.level)"},
			&ucli.BoolFlag{Name: "dev", Usage: "dev mode: generate secrets, auto-migrate, create the database (dev)"},
		},
		Action: func(c *ucli.Context) error {
			flags := map[string]any{}
			if c.IsSet("host") {
				flags["server.host"] = c.String("host")
			}
			if c.IsSet("port") {
				flags["server.port"] = c.Int("port")
			}
			if c.IsSet("database-url") {
				flags["database.url"] = c.String("database-url")
			}
			if c.IsSet("log-level") {
				flags["log.level"] = c.String("log-level")
			}
			if c.IsSet("dev") {
				flags["dev"] = c.Bool("dev")
			}
			loaded, err := app.Load(app.LoadOptions{File: c.String("config"), Flags: flags})
			if err != nil {
				return ExitError{Code: 2, Err: err}
			}
			log := app.NewLogger(loaded.Config.Log, os.Stderr)
			a, err := app.New(loaded.Config, strings.Split(c.String("roles"), ","), log)
			if err != nil {
				return ExitError{Code: 2, Err: err}
			}
			if loaded.File != "" {
				log.Info("configuration loaded", "file", loaded.File)
			}
			return serve(c.Context, a, c.App.Writer)
		},
	}
}

// serve runs a until the first SIGTERM/SIGINT, which drains; a second signal
// exits immediately with status 130.
func serve(parent context.Context, a *app.App, out interface{ Write([]byte) (int, error) }) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)
	go func() {
		select {
		case <-sigs:
			cancel()
		case <-ctx.Done():
			return
		}
		<-sigs
		fmt.Fprintln(os.Stderr, "attune: second signal, exiting now")
		os.Exit(130)
	}()
	go announce(ctx, a, out)
	if err := a.Run(ctx); err != nil {
		return ExitError{Code: 1, Err: err}
	}
	return nil
}

// announce prints where the platform answers once it is ready, so a person
// running `make run` knows what to open.
func announce(ctx context.Context, a *app.App, out interface{ Write([]byte) (int, error) }) {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if a.HTTPURL() == "" {
			continue
		}
		if _, ok := a.Readiness(ctx); ok {
			fmt.Fprintf(out, "\nAttune is ready at %s (roles: %s)\n", a.HTTPURL(), strings.Join(a.Roles(), ","))
			for _, line := range a.LoginHints() {
				fmt.Fprintln(out, line)
			}
			return
		}
	}
}
