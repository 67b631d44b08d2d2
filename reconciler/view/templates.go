package view

import (
	"embed"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"strings"
	"time"
)

// assets are the templates, the style sheet and the live-update script, in the binary so
// that the view needs nothing from the network.
//
//go:embed assets
var assets embed.FS

// pages are the parsed templates, one set per page: each page defines "content" and
// shares the layout.
type pages struct {
	byName map[string]*template.Template
}

// layoutData is what every page's template gets.
type layoutData struct {
	Title, Path, API string
	State            State
	Page             any
}

var pageNames = []string{"matrix", "cluster", "business", "drift", "revisions", "notfound"}

func parsePages(commitURL string) (*pages, error) {
	funcs := template.FuncMap{
		"short": short,
		// commitURL is "" when revisions are not linked; the template then shows text.
		"commitURL": func(rev string) string {
			if commitURL == "" || rev == "" {
				return ""
			}
			return strings.ReplaceAll(commitURL, "{rev}", rev)
		},
		// state turns a status word into a CSS class; the word itself is always shown too,
		// so that colour is never the only carrier of a state.
		"state": func(s string) string { return "st-" + strings.ToLower(s) },
		"since": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.UTC().Format("2006-01-02 15:04:05 UTC")
		},
		"byText": func(by string) string {
			switch by {
			case "":
				return "not recorded"
			case "unknown":
				return "unknown (a deletion leaves no trace of who made it)"
			}
			return by
		},
		"actionText": func(action string) string {
			switch action {
			case "corrected":
				return "corrected (put back)"
			case "reported":
				return "alert only (left as it is)"
			}
			return action
		},
		"join": strings.Join,
	}
	base, err := template.New("layout").Funcs(funcs).ParseFS(assets, "assets/layout.html")
	if err != nil {
		return nil, fmt.Errorf("view templates: %w", err)
	}
	p := &pages{byName: map[string]*template.Template{}}
	for _, name := range pageNames {
		t, err := template.Must(base.Clone()).ParseFS(assets, "assets/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("view template %s: %w", name, err)
		}
		p.byName[name] = t
	}
	return p, nil
}

func (p *pages) render(w io.Writer, name string, data layoutData) error {
	t, ok := p.byName[name]
	if !ok {
		return fmt.Errorf("no view page %q", name)
	}
	return t.ExecuteTemplate(w, "layout", data)
}

// assetHandler serves the style sheet and the script; the templates are not served.
func assetHandler() http.Handler {
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err) // the embedded tree always has assets/
	}
	files := http.FileServerFS(sub)
	return http.StripPrefix("/assets/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ".html") || r.URL.Path == "" || strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "max-age=300")
		files.ServeHTTP(w, r)
	}))
}

func short(rev string) string {
	if len(rev) > 7 {
		return rev[:7]
	}
	return rev
}
