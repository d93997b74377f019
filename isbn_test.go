package litengine_test

import (
	"strings"
	"testing"

	"github.com/litengine/litengine"
)

func TestNormalizeISBN(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"0439023483", "9780439023481", true},        // The Hunger Games, ISBN-10
		{"0-439-02348-3", "9780439023481", true},     // with hyphens
		{"978-0-439-02348-1", "9780439023481", true}, // ISBN-13 with hyphens
		{"9780439023481", "9780439023481", true},
		{"043965548X", "9780439655484", true}, // X check digit
		{"043965548x", "9780439655484", true},
		{"0 439 65548 X", "9780439655484", true},
		{"9791032300824", "9791032300824", true}, // 979 prefix
		{"0439023484", "", false},                // wrong ISBN-10 check digit
		{"9780439023480", "", false},             // wrong ISBN-13 check digit
		{"812971060", "", false},                 // too short
		{"X439023483", "", false},                // X not last
		{"9770439023486", "", false},             // EAN that is not an ISBN
		{"97804390234811", "", false},            // too long
		{"0439O23483", "", false},                // letter O
		{"", "", false},
	} {
		got, ok := litengine.NormalizeISBN(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("NormalizeISBN(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestSearchKey(t *testing.T) {
	for _, tc := range []struct{ a, b string }{
		{"Les Misérables", "les miserables"},
		{"Les  Mise\u0301rables ", "LES MISÉRABLES"}, // decomposed accent, double space
		{"\u1e24awjan", "H\u0323awjan"},              // precomposed and decomposed Ḥ
		{"Straße", "STRASSE"},                        // full case folding
		{"ﬁnal", "final"},                            // NFKC ligature
	} {
		if ka, kb := litengine.SearchKey(tc.a), litengine.SearchKey(tc.b); ka != kb {
			t.Errorf("SearchKey(%q) = %q, SearchKey(%q) = %q; want equal", tc.a, ka, tc.b, kb)
		}
	}
}

func TestValidateBatches(t *testing.T) {
	if err := litengine.ValidateBorrow(1, []int64{3, 4, 3, 0}); litengine.ErrorCode(err) != litengine.EINVALID {
		t.Fatalf("borrow: %v", err)
	} else if items := err.(*litengine.Error).Items; len(items) != 2 || items[0].Code != litengine.ItemDuplicate || items[0].Index != 2 || items[1].Code != litengine.ItemInvalid {
		t.Fatalf("borrow items: %+v", items)
	}
	if err := litengine.ValidateReturn([]string{"a", "b", "a"}); litengine.ErrorCode(err) != litengine.EINVALID {
		t.Fatalf("return: %v", err)
	}
	if err := litengine.ValidateInventory([]litengine.StockChange{{BookID: 1, TotalQty: 1}, {BookID: 1, TotalQty: 2}}); litengine.ErrorCode(err) != litengine.EINVALID {
		t.Fatalf("inventory: %v", err)
	}
	for _, err := range []error{
		litengine.ValidateBorrow(1, []int64{1, 2}),
		litengine.ValidateReturn([]string{"a", "b"}),
		litengine.ValidateInventory([]litengine.StockChange{{BookID: 1, TotalQty: 0}}),
	} {
		if err != nil {
			t.Fatalf("valid batch refused: %v", err)
		}
	}
}

func TestValidateBookText(t *testing.T) {
	long := strings.Repeat("é", litengine.MaxTitleRunes+1)
	many := make([]string, litengine.MaxAuthors+1)
	for i := range many {
		many[i] = "A"
	}
	for _, tc := range []struct {
		title   string
		authors []string
		ok      bool
	}{
		{strings.Repeat("é", litengine.MaxTitleRunes), []string{"Homer"}, true},
		{long, nil, false},
		{"", nil, false},
		{"Title\x01", nil, false},
		{"Title", many, false},
		{"Title", []string{strings.Repeat("a", litengine.MaxAuthorRunes+1)}, false},
	} {
		if err := litengine.ValidateBookText(tc.title, tc.authors); (err == nil) != tc.ok {
			t.Errorf("ValidateBookText(%d runes, %d authors) = %v, want ok=%v", len([]rune(tc.title)), len(tc.authors), err, tc.ok)
		}
	}
}
