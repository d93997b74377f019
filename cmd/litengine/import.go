package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/litengine/litengine/catalog"
)

func importCatalogue(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	var (
		store     storeFlags
		mapping   = fs.String("map", "", `the columns to read, when the header is not detected, e.g. "id=BookID,title=Title,authors=Author,isbn=ISBN,isbn13=EAN,year=Year"`)
		authorSep = fs.String("author-sep", "", `separator between several authors in one field (default ", " for goodbooks-10k, ";" otherwise)`)
		lastFirst = fs.Bool("last-first", false, `authors are written "Last, First": store them as "First Last"`)
		batch     = fs.Int("batch", 1000, "rows per transaction")
	)
	store.register(fs, false)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: litengine import [flags] FILE\n\nLoads a catalogue CSV (goodbooks-10k columns by default) into the books table.\nRe-running it with the same file changes nothing. Flags:")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if *batch < 1 || *batch > 100000 {
		return fmt.Errorf("--batch must be between 1 and 100000, not %d", *batch)
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return fmt.Errorf("import needs exactly one FILE after its flags, got %q (flags come first: import --db PATH FILE)", fs.Args())
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}

	var m catalog.Mapping // the zero mapping: detect the columns from the header
	if *mapping != "" {
		if m, err = catalog.ParseMapping(catalog.Mapping{}, *mapping); err != nil {
			return err
		}
	}
	if *authorSep != "" {
		m.AuthorSep = *authorSep
	}
	m.LastFirst = m.LastFirst || *lastFirst

	st, err := store.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()

	opts := catalog.Options{BatchSize: *batch}
	if out, ok := stderr.(*os.File); ok && term.IsTerminal(int(out.Fd())) {
		bar := progressbar.DefaultBytes(info.Size(), "importing")
		opts.Progress = func(offset int64) { _ = bar.Set64(offset) }
		defer bar.Finish()
	}
	sum, err := catalog.Import(ctx, f, m, st, opts)
	if sum != nil {
		fmt.Fprintln(stdout, sum.String())
	}
	return err
}
