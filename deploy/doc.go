// Package deploy holds hookstream's deployment files and the tests that keep
// them honest; it has no Go API.
//
// The files: docker-compose.yml at the top of the repository (Apache Kafka in
// KRaft mode, topic set-up, rules publication, three workers in one consumer
// group, a sample receiver and event stream, Prometheus and Grafana),
// prometheus/ (scrape configuration and alert rules), grafana/ (provisioning
// and the dashboard), rules.yaml (sample actions), receiver/ and events/
// (the sample receiver's configuration and the sample events), and
// helm/hookstream (the Helm chart for Kubernetes). README.md says how to run the
// stack, how to install the chart, and how to use the dashboard and alerts
// elsewhere.
//
// The tests treat the metric table of SPEC §7 as a contract. Every metric
// that a dashboard panel or an alert queries must be one of those names, so
// no panel stays empty and no alert waits forever on a series that never
// exists; and every metric of the table must be shown by some panel. They
// also check the alert rules' shape, the dashboard's layout and datasource
// variable, the sample rules against the rules package's types, and that the
// compose file is valid (`docker-compose config -q`) and wired as the SPEC
// describes. The chart's tests (helm_test.go) lint it and render it with the
// default and the full values (helm/hookstream/ci/full-values.yaml), load the
// rendered config as the worker does, and check the objects SPEC §8 lists.
package deploy
