package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/litengine/litengine"
	"github.com/litengine/litengine/auth"
)

const keysUsage = `Usage:
  litengine keys create --role admin|librarian|member [--user ID] [--name LABEL] [--db …]
  litengine keys list   [--db …]
  litengine keys revoke [--db …] KEY_ID

create prints the new key alone on the last line of its output; it is shown
only once: the database keeps only its hash.
`

// keys manages API keys directly in the database: the way to make the first
// admin key, and to recover when every admin key is lost.
func keys(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, keysUsage)
		return errors.New("keys: no subcommand given")
	}
	sub, rest := args[0], args[1:]
	fs := flag.NewFlagSet("keys "+sub, flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(stderr, keysUsage); fs.PrintDefaults() }
	var store storeFlags
	store.register(fs, false)
	role := fs.String("role", "", "create: admin, librarian or member")
	user := fs.Int64("user", 0, "create: the member a member key acts for")
	name := fs.String("name", "", "create: a label, who or what holds the key")
	arity := map[string]int{"create": 0, "list": 0, "revoke": 1}
	want, known := arity[sub]
	if !known {
		fmt.Fprint(stderr, keysUsage)
		return fmt.Errorf("keys: unknown subcommand %q", sub)
	}
	if err := parseFlags(fs, rest, stderr); err != nil {
		return err
	}
	if fs.NArg() != want {
		return fmt.Errorf("keys %s takes %d argument(s), got %q (flags come first)", sub, want, fs.Args())
	}
	st, err := store.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	switch sub {
	case "create":
		token, k, err := createKey(ctx, st, litengine.Role(*role), *user, *name)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "created %s key %s", k.Role, k.ID)
		if k.UserID != 0 {
			fmt.Fprintf(stdout, " for member %d", k.UserID)
		}
		fmt.Fprintln(stdout, "; it is shown only now, keep it secret:")
		fmt.Fprintln(stdout, token)
		return nil
	case "list":
		return listKeys(ctx, st, stdout)
	default:
		k, err := st.RevokeKey(ctx, fs.Arg(0))
		if err != nil {
			return errors.New(litengine.ErrorMessage(err))
		}
		fmt.Fprintf(stdout, "revoked %s key %s at %s\n", k.Role, k.ID, k.RevokedAt.Format(time.RFC3339))
		return nil
	}
}

func listKeys(ctx context.Context, st litengine.Store, stdout io.Writer) error {
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tROLE\tMEMBER\tNAME\tCREATED\tREVOKED")
	after := ""
	for {
		page, err := st.ListKeys(ctx, litengine.KeyFilter{AfterID: after, Limit: 500})
		if err != nil {
			return err
		}
		for _, k := range page {
			member, revoked := "-", "-"
			if k.UserID != 0 {
				member = fmt.Sprint(k.UserID)
			}
			if k.RevokedAt != nil {
				revoked = k.RevokedAt.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Role, member, k.Name, k.CreatedAt.Format(time.RFC3339), revoked)
		}
		if len(page) < 500 {
			return tw.Flush()
		}
		after = page[len(page)-1].ID
	}
}

func createKey(ctx context.Context, st litengine.Store, role litengine.Role, user int64, name string) (string, *litengine.APIKey, error) {
	token, k, err := auth.NewKey(role, user, name)
	if err != nil {
		return "", nil, err
	}
	if err := st.CreateKey(ctx, k); err != nil {
		return "", nil, errors.New(litengine.ErrorMessage(err))
	}
	return token, k, nil
}

// bootstrapAdminKey gives a new database its first admin key, written to
// path (readable by its owner only) rather than to the logs. A database that
// has any key is left alone.
func bootstrapAdminKey(ctx context.Context, st litengine.Store, path string) (created bool, err error) {
	existing, err := st.ListKeys(ctx, litengine.KeyFilter{Limit: 1})
	if err != nil || len(existing) > 0 || path == "" {
		return false, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return false, fmt.Errorf("the database has no API key yet, and %s already exists: "+
			"remove it, or create a key with: litengine keys create --role admin", path)
	} else if err != nil {
		return false, err
	}
	token, _, err := createKey(ctx, st, litengine.RoleAdmin, 0, "first admin")
	if err == nil {
		_, err = fmt.Fprintln(f, token)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return false, err
	}
	return true, nil
}
