# What a confirmatory run's folder says of its state, in one place for the shell tools that train
# (run_confirmatory.sh), adopt (training_checkout.sh) and collect (collect_confirmatory.sh) runs.
# Sourced, not run. A run is committed once its summary.json or its failed.json (a run stopped on
# a non-finite loss, scored as random play: amendment 8) is in the checkout; it has finished when
# it is committed or its train.log holds the runner's one-line non-finite error, whose wording is
# agents.runtable.NON_FINITE (tests/test_run_confirmatory.py checks the two agree).

run_committed() { # run folder
  [ -e "$1/summary.json" ] || [ -e "$1/failed.json" ]
}

run_stopped_non_finite() { # run folder
  grep -qs "non-finite" "$1/train.log"
}

run_finished() { # run folder: committed, or stopped on a non-finite loss (never retried, so
  # that its train.log, which collect_confirmatory.sh reads, keeps the error)
  run_committed "$1" || run_stopped_non_finite "$1"
}
