# Peer baselines (agents/peers/): another project's agent on the same games, seeds and budget, and
# the main table, Figure 8, the score claims and the aggregate with it as a row. Outside `all`:
# `snakemake peers` builds them.


rule peer_reports:
    """Table 1, Figure 8, the score claims and the rliable aggregate with the peers as rows beside
    the config's agents (the aggregate normalised as the main one, by our random and DDQN)."""
    input:
        train_outputs(),
        train_outputs(PEERS),
    output:
        multiext(f"{REPORTS}/peers/table1", ".csv", ".md", ".tex"),
        multiext(f"{REPORTS}/peers/figure8", ".png", ".pdf"),
        multiext(f"{REPORTS}/peers/claims", ".csv", ".md", ".tex"),
        multiext(f"{REPORTS}/peers/aggregate", ".csv", ".md", ".tex", ".png", ".pdf"),
    log:
        f"{REPORTS}/logs/peers.log",
    params:
        python=PYTHON,
        runs=lambda wildcards, input: input[0].rsplit("/", 4)[0],  # from RUNS/<agent>/<game>/s<seed>/summary.json
        folder=lambda wildcards, output: os.path.dirname(output[0]),
        selection=selection(config, config["agents"] + PEERS),
        reps=config["bootstrap_reps"],
    conda:
        ENV
    shell:
        "(for kind in table1 figure8 claims; do {params.python} -m agents report $kind "
        "--runs {params.runs} {params.selection} --out {params.folder}/$kind || exit 1; "
        "done && {params.python} -m agents report aggregate --runs {params.runs} "
        "{params.selection} --reps {params.reps} --out {params.folder}/aggregate) > {log} 2>&1"


rule peers:
    """The peer runs of config `peers` and the tables and figures with them."""
    input:
        rules.peer_reports.output,
