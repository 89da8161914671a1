// Command keygen prints a new local master key: a Tink JSON keyset holding
// one AES-256-GCM key. Store its output as a secret (a file only the
// backend can read, or a secret manager), never in source control:
//
//	go run ./examples/keygen > master-key.json && chmod 600 master-key.json
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
