package topic

import (
	"errors"
	"strings"
	"testing"
)

func TestEnsure(t *testing.T) {
	tests := []struct {
		name    string
		policy  string // "-" = the topic does not exist
		created bool
		refused bool
	}{
		{"missing is created compacted", "-", true, false},
		{"compacted", "compact", false, false},
		{"compacted and deleting", "compact,delete", false, false},
		{"deleting", "delete", false, true},
		{"broker default", "", false, true},
	}
	tc := newCluster(t)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := "rules-" + string(rune('a'+i))
			if tt.policy != "-" {
				tc.createTopic(t, name, 1, tt.policy)
			}
			created, err := Ensure(ctxT(t), tc.Admin, name)
			var nc *NotCompactedError
			switch {
			case tt.refused && !errors.As(err, &nc):
				t.Fatalf("Ensure = %v, want a *NotCompactedError", err)
			case tt.refused:
				if !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), "cleanup.policy=compact") {
					t.Errorf("message %q should name the topic and the fix", err)
				}
				return
			case err != nil:
				t.Fatalf("Ensure: %v", err)
			}
			if created != tt.created {
				t.Errorf("created = %v, want %v", created, tt.created)
			}
			policy, err := cleanupPolicy(ctxT(t), tc.Admin, name)
			if err != nil || !compacted(policy) {
				t.Errorf("cleanup.policy after Ensure = %q, %v; want compact", policy, err)
			}
			again, err := Ensure(ctxT(t), tc.Admin, name)
			if err != nil || again {
				t.Errorf("second Ensure = %v, %v; want an existing topic left alone", again, err)
			}
		})
	}
}

// TestEnsureConcurrently: workers starting together all succeed, and the
// topic is created once.
func TestEnsureConcurrently(t *testing.T) {
	tc := newCluster(t)
	type result struct {
		created bool
		err     error
	}
	results := make(chan result, 4)
	for range cap(results) {
		go func() {
			created, err := Ensure(ctxT(t), tc.Admin, "rules")
			results <- result{created, err}
		}()
	}
	created := 0
	for range cap(results) {
		r := <-results
		if r.err != nil {
			t.Errorf("Ensure: %v", r.err)
		}
		if r.created {
			created++
		}
	}
	if created != 1 {
		t.Errorf("%d callers created the topic, want 1", created)
	}
}
