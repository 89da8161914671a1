// Command keygen prints a new local master key: a Tink JSON keyset holding
// one AES-256-GCM key. Store its output as a secret (a file only the
// backend can read, or a secret manager), never in source control:
//
//	(umask 077; go run ./examples/keygen > master-key.json)
//
// (the umask makes the file unreadable to others from its creation; a
// chmod after the redirect leaves it readable meanwhile).
package main

import (
	"fmt"
	"os"

	"github.com/dataspace/secrets"
)

func main() {
	key, err := secrets.GenerateLocalKey()
	if err != nil {
		fmt.Fprintln(os.Stderr, "keygen:", err)
		os.Exit(1)
	}
	os.Stdout.Write(key)
	fmt.Println()
}
