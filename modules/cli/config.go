package cli

import (
	"encoding/json"

	ucli "github.com/urfave/cli/v2"
	"go.yaml.in/yaml/v3"

	"github.com/attune-system/attune/modules/app"
)

func configCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "config",
		Usage: "inspect configuration",
		Subcommands: []*ucli.Command{{
			Name:  "show",
			Usage: "print the effective configuration (defaults < file < environment), secrets redacted",
			Flags: []ucli.Flag{&ucli.StringFlag{Name: "format", Value: "yaml", Usage: "yaml or json"}},
			Action: func(c *ucli.Context) error {
				loaded, err := app.Load(app.LoadOptions{File: c.String("config")})
				if err != nil {
					return ExitError{Code: 2, Err: err}
				}
				if err := loaded.Config.Validate(nil); err != nil {
					return ExitError{Code: 2, Err: err}
				}
				m := loaded.Redacted()
				if c.String("format") == "json" {
					enc := json.NewEncoder(c.App.Writer)
					enc.SetIndent("", "  ")
					return enc.Encode(m)
				}
				enc := yaml.NewEncoder(c.App.Writer)
				enc.SetIndent(2)
				return enc.Encode(m)
			},
		}},
	}
}
