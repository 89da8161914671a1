//go:build ignore

// apidump prints the exported API of Go packages: every exported
// constant, variable, function, type and method, as declarations without
// comments or bodies, in a stable order. scripts/api runs it to write and
// check api.txt.
//
//	go run scripts/apidump.go IMPORT_PATH=DIR...
package main

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/build"
	"go/doc"
	"go/parser"
	"go/printer"
	"go/token"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	var out bytes.Buffer
	for _, arg := range os.Args[1:] {
		path, dir, ok := strings.Cut(arg, "=")
		if !ok {
			fmt.Fprintln(os.Stderr, "apidump: want IMPORT_PATH=DIR, got", arg)
			os.Exit(2)
		}
		if err := dump(&out, path, dir); err != nil {
			fmt.Fprintf(os.Stderr, "apidump: %s: %v\n", path, err)
			os.Exit(1)
		}
	}
	os.Stdout.Write(out.Bytes())
}

// dump writes the exported API of the package in dir, as built for
// linux/amd64, so that the file is the same on every machine.
func dump(w *bytes.Buffer, path, dir string) error {
	ctx := build.Default
	ctx.GOOS, ctx.GOARCH, ctx.CgoEnabled = "linux", "amd64", false
	bp, err := ctx.ImportDir(dir, 0)
	if err != nil {
		return err
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, name := range bp.GoFiles {
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, 0) // no comments
		if err != nil {
			return err
		}
		files = append(files, f)
	}
	p, err := doc.NewFromFiles(fset, files, path)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "package %s // %s\n", p.Name, path)
	decl := func(n ast.Node) {
		var b bytes.Buffer
		if err := (&printer.Config{Mode: printer.UseSpaces | printer.TabIndent, Tabwidth: 8}).Fprint(&b, fset, n); err != nil {
			panic(err)
		}
		// Without comments, the printer leaves blank lines where they
		// were, and aligns columns by the blocks they leave: drop blank
		// lines and the alignment, so that only declarations count.
		w.WriteString("\n")
		for _, line := range strings.Split(b.String(), "\n") {
			body := strings.TrimLeft(line, "\t")
			if body == "" {
				continue
			}
			w.WriteString(line[:len(line)-len(body)] + strings.Join(strings.Fields(body), " ") + "\n")
		}
	}
	values := func(vs []*doc.Value) {
		for _, v := range vs {
			decl(v.Decl)
		}
	}
	funcs := func(fs []*doc.Func) {
		for _, f := range fs {
			f.Decl.Body = nil
			decl(f.Decl)
		}
	}
	values(p.Consts)
	values(p.Vars)
	funcs(p.Funcs)
	for _, t := range p.Types {
		decl(t.Decl)
		values(t.Consts)
		values(t.Vars)
		funcs(t.Funcs)
		funcs(t.Methods)
	}
	w.WriteString("\n")
	return nil
}
