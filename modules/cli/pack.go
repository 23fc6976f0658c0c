package cli

import (
	ucli "github.com/urfave/cli/v2"

	"github.com/attune-system/attune/modules/pack"
)

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
		},
	}
}
