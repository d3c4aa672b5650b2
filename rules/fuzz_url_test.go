package rules

import (
	"testing"

	"github.com/expr-lang/expr/vm"
)

// FuzzURLTemplate compiles arbitrary URL templates and renders the accepted
// ones for arbitrary events. Compiling may refuse a template (with field
// errors, never a panic); an accepted template must render to a URL with
// its own scheme and host, never one the event chose, or fail as a mapping
// error.
func FuzzURLTemplate(f *testing.F) {
	events := readEvents(f)
	seeds := []string{
		"https://crm.example.com/hooks/{{ userId }}",
		"https://analytics.example.com/collect?site=shop&user={{ userId ?? anonymousId }}",
		"https://partner.example.com/v1/accounts/{{ traits.company?.id }}/users",
		"http://x.example.com:8080/{{ type }}/{{ properties.n > 1 ? 'big' : 'small' }}#{{ event }}",
		"https://x.example.com/{{ toJSON(properties) }}",
		"https://x.example.com/{{ map(properties.products ?? [], .sku) }}",
		"https://{{ userId }}.example.com/",
		"https://x.example.com/{{ userId }",
		"https://user:pw@x.example.com/{{ userId }}",
		"https://x.example.com/{{ {{ userId }} }}",
		"ftp://x.example.com/{{ userId }}",
	}
	for i, s := range seeds {
		f.Add(s, events["track"])
		f.Add(s, []byte(hostileEvents[i%len(hostileEvents)]))
	}
	f.Fuzz(func(t *testing.T, template string, raw []byte) {
		a := Action{ID: "u", Trigger: "true", URL: template}
		c, err := Compile(a, Options{})
		if err != nil {
			if len(FieldErrors(err)) == 0 {
				t.Fatalf("Compile(%q) = %v, not field errors", template, err)
			}
			return
		}
		var ev Event
		if Decode(raw, 1<<16, &ev) != nil {
			return
		}
		var v vm.VM
		u, _, err := c.Render(&ev, raw, &v, nil)
		if err != nil {
			if !IsMapping(err) {
				t.Fatalf("Render error %v is not a *MappingError", err)
			}
			return
		}
		checkSameOrigin(t, template, u)
	})
}
