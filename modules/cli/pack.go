package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	ucli "github.com/urfave/cli/v2"

	"github.com/attune-system/attune/modules/app"
	"github.com/attune-system/attune/modules/domain"
	"github.com/attune-system/attune/modules/pack"
	"github.com/attune-system/attune/modules/packsvc"
	"github.com/attune-system/attune/modules/runtimeenv"
	"github.com/attune-system/attune/modules/store"
)

var jsonFlag = &ucli.BoolFlag{Name: "json", Usage: "print JSON instead of a table"}

func packCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "pack",
		Usage: "check, register, install and manage packs",
		Subcommands: []*ucli.Command{
			{
				Name:      "check",
				Usage:     "validate a pack directory offline; lists every problem with file:line",
				ArgsUsage: "DIR",
				Action: func(c *ucli.Context) error {
					if c.NArg() != 1 {
						return ExitError{Code: 2, Err: errUsage("pack check DIR")}
					}
					dir := c.Args().First()
					if n := pack.WriteReport(c.App.Writer, dir, pack.Check(dir)); n > 0 {
						return ExitError{Code: 1}
					}
					return nil
				},
			},
			{
				Name:      "register",
				Usage:     "register (or upgrade) the pack in DIR: database and packs_base_dir, all or nothing",
				ArgsUsage: "DIR",
				Flags:     []ucli.Flag{jsonFlag, &ucli.BoolFlag{Name: "force", Usage: "re-apply even if unchanged"}},
				Action: withPacks("pack register DIR", 1, func(ctx context.Context, c *ucli.Context, s *packsvc.Service) error {
					res, err := s.Register(ctx, firstArg(c), packsvc.RegisterOptions{Force: c.Bool("force"), Method: packsvc.MethodCLI})
					return printResult(c, res, err)
				}),
			},
			{
				Name:      "install",
				Usage:     "install a pack from a directory, a .tar.gz/.zip (path or URL) or a git URL",
				ArgsUsage: "SOURCE",
				Flags: []ucli.Flag{jsonFlag, &ucli.StringFlag{Name: "ref", Usage: "git tag, branch or commit"},
					&ucli.BoolFlag{Name: "force", Usage: "re-apply even if unchanged"}},
				Action: withPacks("pack install SOURCE [--ref REF]", 1, func(ctx context.Context, c *ucli.Context, s *packsvc.Service) error {
					res, err := s.Install(ctx, firstArg(c), c.String("ref"),
						packsvc.RegisterOptions{Force: c.Bool("force"), Method: packsvc.MethodCLI})
					return printResult(c, res, err)
				}),
			},
			{
				Name:  "list",
				Usage: "list installed packs",
				Flags: []ucli.Flag{jsonFlag},
				Action: withPacks("pack list", 0, func(ctx context.Context, c *ucli.Context, s *packsvc.Service) error {
					list, err := s.List(ctx)
					if err != nil {
						return err
					}
					if c.Bool("json") {
						return writeJSON(c.App.Writer, list)
					}
					tw := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
					fmt.Fprintln(tw, "REF\tVERSION\tACTIONS\tTRIGGERS\tRULES\tSENSORS\tSOURCE\tINSTALLED")
					for _, p := range list {
						fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%s\t%s\n", p.Pack.Ref, p.Pack.Version, p.Counts.Actions,
							p.Counts.Triggers, p.Counts.Rules, p.Counts.Sensors, deref(p.Pack.SourceType), when(p.Pack.InstalledAt))
					}
					return tw.Flush()
				}),
			},
			{
				Name:      "show",
				Usage:     "show one pack and its components",
				ArgsUsage: "REF",
				Flags:     []ucli.Flag{jsonFlag},
				Action: withPacks("pack show REF", 1, func(ctx context.Context, c *ucli.Context, s *packsvc.Service) error {
					d, err := s.Get(ctx, firstArg(c))
					if err != nil {
						return notFoundIs1(err)
					}
					if c.Bool("json") {
						return writeJSON(c.App.Writer, d)
					}
					return printDetail(c.App.Writer, d)
				}),
			},
			{
				Name:      "remove",
				Usage:     "remove a pack and everything it defines",
				ArgsUsage: "REF",
				Flags:     []ucli.Flag{&ucli.BoolFlag{Name: "yes", Aliases: []string{"y"}, Usage: "do not ask for confirmation"}},
				Action: withPacks("pack remove REF [--yes]", 1, func(ctx context.Context, c *ucli.Context, s *packsvc.Service) error {
					ref := firstArg(c)
					if !c.Bool("yes") {
						fmt.Fprintf(c.App.Writer, "Remove pack %q and all its actions, rules, triggers and sensors? [y/N] ", ref)
						var answer string
						_, _ = fmt.Fscanln(c.App.Reader, &answer)
						if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
							return ExitError{Code: 1, Err: errors.New("aborted")}
						}
					}
					if err := s.Remove(ctx, ref); err != nil {
						return notFoundIs1(err)
					}
					fmt.Fprintf(c.App.Writer, "removed pack %s\n", ref)
					return nil
				}),
			},
		},
	}
}

// withPacks loads the configuration (exit 2 on config or usage errors),
// opens the database and builds the pack service for fn.
func withPacks(usage string, nargs int, fn func(ctx context.Context, c *ucli.Context, s *packsvc.Service) error) ucli.ActionFunc {
	return func(c *ucli.Context) error {
		args, err := trailingFlags(c)
		if err != nil {
			return ExitError{Code: 2, Err: err}
		}
		if len(args) != nargs {
			return ExitError{Code: 2, Err: errUsage(usage)}
		}
		loaded, err := app.Load(app.LoadOptions{File: c.String("config")})
		if err != nil {
			return ExitError{Code: 2, Err: err}
		}
		cfg := loaded.Config
		packsDir := cfg.PacksBaseDir
		if packsDir == "" {
			packsDir = filepath.Join(cfg.DataDir, "packs")
		}
		envsDir := cfg.RuntimeEnvsDir
		if envsDir == "" {
			envsDir = filepath.Join(cfg.DataDir, "runtime_envs")
		}
		ctx, cancel := context.WithTimeout(c.Context, 15*time.Minute)
		defer cancel()
		st, err := store.Open(ctx, cfg.Database.URL, store.PoolConfig{MaxConns: 4, ApplicationName: "attune-cli"})
		if err != nil {
			return ExitError{Code: 1, Err: err}
		}
		defer st.Close()
		log := slog.New(slog.NewTextHandler(c.App.ErrWriter, &slog.HandlerOptions{Level: slog.LevelWarn}))
		svc, err := packsvc.New(packsvc.Options{Store: st, PacksDir: packsDir, Log: log,
			Envs: runtimeenv.NewManager(st, envsDir, packsDir, log)})
		if err != nil {
			return ExitError{Code: 2, Err: err}
		}
		if err := fn(ctx, c, svc); err != nil {
			var ee ExitError
			if errors.As(err, &ee) {
				return ee
			}
			return ExitError{Code: 1, Err: err}
		}
		return nil
	}
}

func printResult(c *ucli.Context, res packsvc.Result, err error) error {
	if err != nil {
		var pe *pack.ProblemsError
		if errors.As(err, &pe) {
			pack.WriteReport(c.App.ErrWriter, "", pe.Problems)
			return ExitError{Code: 1}
		}
		return err
	}
	if c.Bool("json") {
		return writeJSON(c.App.Writer, res)
	}
	w := c.App.Writer
	state := "registered"
	if res.Unchanged {
		state = "unchanged"
	}
	fmt.Fprintf(w, "pack %s %s %s (%d actions, %d triggers, %d rules, %d sensors) in %v\n", res.Pack.Ref,
		res.Pack.Version, state, res.Counts.Actions, res.Counts.Triggers, res.Counts.Rules, res.Counts.Sensors,
		res.Duration.Round(time.Millisecond))
	for _, r := range res.Removed {
		fmt.Fprintf(w, "  removed %s\n", r)
	}
	for _, e := range res.Envs {
		if e.Error != "" {
			fmt.Fprintf(w, "  environment %s not built (the worker will retry): %s\n", e.Runtime, e.Error)
		} else {
			fmt.Fprintf(w, "  environment %s ready at %s\n", e.Runtime, e.Dir)
		}
	}
	return nil
}

func printDetail(w io.Writer, d packsvc.Detail) error {
	p := d.Pack
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Ref:\t%s\nLabel:\t%s\nVersion:\t%s\nDescription:\t%s\nSource:\t%s %s %s\nChecksum:\t%s\nPath:\t%s\nInstalled:\t%s\n",
		p.Ref, p.Label, p.Version, deref(p.Description), deref(p.SourceType), deref(p.SourceURL), deref(p.SourceRef),
		deref(p.Checksum), deref(p.StoragePath), when(p.InstalledAt))
	if err := tw.Flush(); err != nil {
		return err
	}
	section := func(title string, rows [][]string, header string) {
		if len(rows) == 0 {
			return
		}
		fmt.Fprintf(w, "\n%s:\n", title)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  "+header)
		for _, r := range rows {
			fmt.Fprintln(tw, "  "+strings.Join(r, "\t"))
		}
		_ = tw.Flush()
	}
	var rows [][]string
	for _, a := range d.Actions {
		rows = append(rows, []string{a.Ref, deref(a.RuntimeRef), a.Entrypoint, fmt.Sprint(a.Enabled)})
	}
	section("Actions", rows, "REF\tRUNTIME\tENTRY POINT\tENABLED")
	rows = nil
	for _, t := range d.Triggers {
		rows = append(rows, []string{t.Ref, t.Label, deref(t.SensorRef)})
	}
	section("Triggers", rows, "REF\tLABEL\tSENSOR")
	rows = nil
	for _, r := range d.Rules {
		rows = append(rows, []string{r.Ref, r.TriggerRef, r.ActionRef, fmt.Sprint(r.Enabled), fmt.Sprint(r.IsAdhoc)})
	}
	section("Rules", rows, "REF\tTRIGGER\tACTION\tENABLED\tAD-HOC")
	rows = nil
	for _, s := range d.Sensors {
		rows = append(rows, []string{s.Ref, s.RuntimeRef, s.Entrypoint})
	}
	section("Sensors", rows, "REF\tRUNTIME\tENTRY POINT")
	rows = nil
	for _, e := range d.Envs {
		rows = append(rows, []string{e.RuntimeRef, e.Status, e.EnvPath})
	}
	section("Environments", rows, "RUNTIME\tSTATUS\tPATH")
	return nil
}

func notFoundIs1(err error) error {
	if errors.Is(err, domain.ErrNotFound) {
		return ExitError{Code: 1, Err: err}
	}
	return err
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func when(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.Format(time.RFC3339)
}

// trailingFlags lets boolean flags follow the positional arguments
// (`attune pack remove REF --yes`), which urfave/cli would otherwise take
// as arguments; it returns the remaining positional arguments.
func trailingFlags(c *ucli.Context) ([]string, error) {
	var rest []string
	for _, a := range c.Args().Slice() {
		if !strings.HasPrefix(a, "-") {
			rest = append(rest, a)
			continue
		}
		if err := c.Set(strings.TrimLeft(a, "-"), "true"); err != nil {
			return nil, fmt.Errorf("unknown or non-boolean flag %s after the arguments", a)
		}
	}
	return rest, nil
}

func firstArg(c *ucli.Context) string {
	for _, a := range c.Args().Slice() {
		if !strings.HasPrefix(a, "-") {
			return a
		}
	}
	return ""
}
