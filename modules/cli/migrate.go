package cli

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/attune-system/attune/db"
	"github.com/attune-system/attune/modules/app"
)

func migrateCommand() *ucli.Command {
	run := func(name, usage string, fn func(ctx context.Context, c *ucli.Context, dsn string) error) *ucli.Command {
		return &ucli.Command{
			Name:  name,
			Usage: usage,
			Flags: []ucli.Flag{&ucli.StringFlag{Name: "database-url", Usage: "PostgreSQL URL (database.url)"}},
			Action: func(c *ucli.Context) error {
				flags := map[string]any{}
				if c.IsSet("database-url") {
					flags["database.url"] = c.String("database-url")
				}
				loaded, err := app.Load(app.LoadOptions{File: c.String("config"), Flags: flags})
				if err != nil {
					return ExitError{Code: 2, Err: err}
				}
				ctx, cancel := context.WithTimeout(c.Context, 5*time.Minute)
				defer cancel()
				dsn := loaded.Config.Database.URL
				if loaded.Config.Dev {
					if _, err := db.EnsureDatabase(ctx, dsn); err != nil {
						return err
					}
				}
				return fn(ctx, c, dsn)
			},
		}
	}
	return &ucli.Command{
		Name:  "migrate",
		Usage: "apply or inspect database migrations (under an advisory lock: concurrent runs are safe)",
		Subcommands: []*ucli.Command{
			run("up", "apply every pending migration", func(ctx context.Context, c *ucli.Context, dsn string) error {
				if err := db.Up(ctx, dsn); err != nil {
					return err
				}
				fmt.Fprintf(c.App.Writer, "database at version %d\n", db.LatestVersion())
				return nil
			}),
			run("down", "roll back the latest migration", func(ctx context.Context, c *ucli.Context, dsn string) error {
				return db.Down(ctx, dsn)
			}),
			run("reset", "roll back every migration (drops all attune data)", func(ctx context.Context, c *ucli.Context, dsn string) error {
				if err := db.Reset(ctx, dsn); err != nil {
					return err
				}
				fmt.Fprintln(c.App.Writer, "database at version 0")
				return nil
			}),
			run("status", "list migrations and whether each is applied", func(ctx context.Context, c *ucli.Context, dsn string) error {
				st, err := db.Status(ctx, dsn)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "VERSION\tNAME\tAPPLIED")
				for _, s := range st {
					applied := "no"
					if s.Applied {
						applied = s.AppliedAt.Format(time.RFC3339)
					}
					fmt.Fprintf(tw, "%d\t%s\t%s\n", s.Version, s.Name, applied)
				}
				return tw.Flush()
			}),
		},
	}
}
