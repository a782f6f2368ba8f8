"""The lab for FlowSpace infra, by job: lab/ (images, hosts, lifecycle, binaries), standins/
(outside services the lab cannot reach), clients/ (what a user's side runs), checks/ (of a
converged stack). `python -m labkit --help` is its command line."""
