package cli

import "fmt"

func errUsage(usage string) error { return fmt.Errorf("usage: attune %s", usage) }
