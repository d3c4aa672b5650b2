package rules

import (
	"sync"
	"testing"

	"github.com/expr-lang/expr/vm"
)

func TestSetWithWithout(t *testing.T) {
	mk := func(id, trigger string) *Compiled {
		a := valid()
		a.ID, a.Trigger = id, trigger
		return compileAction(t, a)
	}
	empty := &Set{}
	s1 := empty.With(mk("b", "true")).With(mk("a", "true"))
	if len(empty.Actions) != 0 {
		t.Error("With changed the original set")
	}
	if len(s1.Actions) != 2 || s1.Actions[0].ID != "a" || s1.Actions[1].ID != "b" {
		t.Fatalf("actions not sorted by id: %v", s1.Actions)
	}
	replaced := mk("a", "false")
	s2 := s1.With(replaced)
	if len(s2.Actions) != 2 || s2.Get("a") != replaced || s1.Get("a") == replaced {
		t.Error("With did not replace the action in a new set only")
	}
	s3 := s2.Without("a")
	if len(s3.Actions) != 1 || s3.Get("a") != nil || s2.Get("a") == nil {
		t.Error("Without did not remove the action in a new set only")
	}
	if s3.Without("missing").Get("b") == nil {
		t.Error("Without of an unknown id lost actions")
	}
}

func TestStore(t *testing.T) {
	var st Store
	if st.Load() == nil || len(st.Load().Actions) != 0 {
		t.Fatal("an empty Store must load an empty set")
	}
	a := valid()
	set := NewSet(compileAction(t, a))
	st.Swap(set)
	if st.Load() != set {
		t.Error("Load after Swap did not return the set")
	}
}

// TestSharedAcrossGoroutines runs one compiled set from several goroutines,
// each with its own VM, under the race detector.
func TestSharedAcrossGoroutines(t *testing.T) {
	a := valid()
	a.URL = "https://x.example.com/{{ userId }}"
	a.Payload = map[string]any{"u": "userId", "p": "properties.plan"}
	var st Store
	st.Swap(NewSet(compileAction(t, a)))
	raw := []byte(`{"type":"track","userId":"u1","properties":{"plan":"pro"}}`)
	results := make(chan string, 4)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var ev Event
			var v vm.VM
			var buf []byte
			var body []byte
			for range 200 {
				if err := Decode(raw, 0, &ev); err != nil {
					results <- err.Error()
					return
				}
				for _, c := range st.Load().Match(&ev, &v, nil, nil) {
					var err error
					if _, body, err = c.Render(&ev, raw, &v, buf); err != nil {
						results <- err.Error()
						return
					}
					buf = body
				}
			}
			results <- string(body)
		}()
	}
	wg.Wait()
	close(results)
	for r := range results {
		if r != `{"p":"pro","u":"u1"}` {
			t.Errorf("goroutine result %q", r)
		}
	}
}
