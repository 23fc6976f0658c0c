package cli

import (
	"fmt"
	"strings"

	ucli "github.com/urfave/cli/v2"

	"github.com/attune-system/attune/modules/app"
)

func rolesCommand() *ucli.Command {
	return &ucli.Command{
		Name:  "roles",
		Usage: "list the modules --roles accepts and what each depends on",
		Flags: []ucli.Flag{&ucli.BoolFlag{Name: "markdown", Usage: "print a Markdown table (docs)"}},
		Action: func(c *ucli.Context) error {
			w := c.App.Writer
			defs, aliases := app.Describe()
			if c.Bool("markdown") {
				fmt.Fprintln(w, "| module | role | requires | description |")
				fmt.Fprintln(w, "| --- | --- | --- | --- |")
			}
			for _, d := range defs {
				kind := "role"
				if d.Hidden {
					kind = "infrastructure"
				}
				req := strings.Join(d.Requires, ", ")
				if req == "" {
					req = "-"
				}
				if c.Bool("markdown") {
					fmt.Fprintf(w, "| `%s` | %s | %s | %s |\n", d.Name, kind, req, d.Description)
				} else {
					fmt.Fprintf(w, "%-10s %-15s requires: %-24s %s\n", d.Name, kind, req, d.Description)
				}
			}
			for name, members := range aliases {
				if c.Bool("markdown") {
					fmt.Fprintf(w, "| `%s` | alias | %s | every role in one process |\n", name, strings.Join(members, ", "))
				} else {
					fmt.Fprintf(w, "%-10s %-15s = %s\n", name, "alias", strings.Join(members, ", "))
				}
			}
			return nil
		},
	}
}
