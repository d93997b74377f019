// Package dataset locates the real catalogue used by tests and benchmarks.
// The data is shared beside the repository, never copied into it.
package dataset

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Goodbooks is goodbooks-10k's books.csv: goodbooks-10k by Zygmunt Zając,
// https://github.com/zygmuntz/goodbooks-10k, CC BY-SA 4.0.
const Goodbooks = "goodbooks10k_books.csv"

// Path returns the path of a data file. The directory is LITENGINE_DATA_DIR,
// or shared/data beside the repository. When the file is absent the test is
// skipped with a message saying where it was looked for, unless
// LITENGINE_REQUIRE_DATA=1 (set by .ci/run), which makes it a failure.
func Path(t testing.TB, name string) string {
	t.Helper()
	dir := os.Getenv("LITENGINE_DATA_DIR")
	if dir == "" {
		_, file, _, _ := runtime.Caller(0) // <repo>/internal/dataset/dataset.go
		dir = filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "data")
	}
	path, _ := filepath.Abs(filepath.Join(dir, name))
	if _, err := os.Stat(path); err != nil {
		msg := "real data " + name + " not found at " + path +
			" (set LITENGINE_DATA_DIR to the directory holding it): " + err.Error()
		if os.Getenv("LITENGINE_REQUIRE_DATA") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return path
}
