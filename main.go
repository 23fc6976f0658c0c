// Command attune is the single Attune executable: `attune serve --roles=…`
// runs the platform; the other subcommands are admin tasks.
package main

import (
	"os"

	"github.com/attune-system/attune/modules/cli"
)

func main() { os.Exit(cli.Main()) }
