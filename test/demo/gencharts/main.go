// Command gencharts packages the demo's chart hello (test/demo/charts/hello-*.tgz) with
// Helm's packaging code. The archives are committed: fleet-example's charts.lock.yaml
// pins the digest of one of them, and packaging stamps each archive with the time.
// Run it only to change the chart, then run gitfleet lock on fleet-example.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"gitfleet.dev/gitfleet/test/chartserver"
)

func main() {
	dir := "test/demo/charts"
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	for _, v := range []string{"1.0.0", "1.1.0", "2.0.0"} {
		data, err := chartserver.Package(chartserver.Chart{Name: "hello", Version: v, Files: map[string]string{
			"values.yaml": "message: Hello\nreplicas: 1\n",
			"templates/deployment.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
  labels: {app.kubernetes.io/version: {{ .Chart.Version | quote }}}
spec:
  replicas: {{ .Values.replicas }}
  selector: {matchLabels: {app: {{ .Release.Name }}}}
  template:
    metadata: {labels: {app: {{ .Release.Name }}}}
    spec:
      containers:
      - name: hello
        image: nginx:1.27
        env: [{name: MESSAGE, value: {{ .Values.message | quote }}}]
`,
		}})
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, "hello-"+v+".tgz"), data, 0o644)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "gencharts:", err)
			os.Exit(1)
		}
	}
}
