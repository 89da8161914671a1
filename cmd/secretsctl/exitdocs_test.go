package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// The exit statuses of secretsctl --help and of the README's "Exit
// status" table are the same list, word for word (the README's code
// marks aside).
func TestExitStatusDocsAgree(t *testing.T) {
	norm := func(s string) string { return strings.Join(strings.Fields(strings.ReplaceAll(s, "`", "")), " ") }
	help := map[string]string{}
	var order []string
	entry := regexp.MustCompile(`^   (\S+) +(.*)$`)
	for _, l := range strings.Split(exitHelp, "\n")[1:] {
		if l == "" {
			break
		}
		if m := entry.FindStringSubmatch(l); m != nil {
			order = append(order, m[1])
			help[m[1]] = m[2]
		} else if len(order) > 0 {
			help[order[len(order)-1]] += " " + l
		}
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(readme), "\n## Exit status\n")
	table := map[string]string{}
	row := regexp.MustCompile(`(?m)^\| ([^|]+) \| (.*) \|$`)
	for _, m := range row.FindAllStringSubmatch(strings.SplitN(section, "\n## ", 2)[0], -1) {
		if m[1] != "status" && m[1] != "---" {
			table[m[1]] = m[2]
		}
	}
	if len(help) < 10 || len(help) != len(table) {
		t.Fatalf("--help lists %d statuses, the README %d:\n%v\n%v", len(help), len(table), order, table)
	}
	for k, v := range help {
		if norm(v) != norm(table[k]) {
			t.Errorf("status %s:\n--help: %s\nREADME: %s", k, norm(v), norm(table[k]))
		}
	}
}
