package runner

import "os"

// defaultPath is used when the server itself has no PATH.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// inherited are the only variables of the server's environment that pack
// code (actions and sensors) sees: the server's own credentials (database
// URL, broker password, JWT secret, ATTUNE__*) must never reach it.
var inherited = []string{"PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR"}

// BaseEnv is the environment every action and sensor process starts from:
// the inherited variables that are set, with a default PATH and LANG.
func BaseEnv() map[string]string {
	env := map[string]string{"PATH": defaultPath, "LANG": "C.UTF-8"}
	for _, k := range inherited {
		if v, ok := os.LookupEnv(k); ok && v != "" {
			env[k] = v
		}
	}
	return env
}
