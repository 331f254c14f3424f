# Peer baselines (agents/peers/): another project's agent on the same games, seeds and budget, and
# the main table, Figure 8, the score claims and the aggregate with it as a row. Outside `all`:
# `snakemake peers` builds them.


rule train_peer:
    """One peer run (stable-baselines3's DQN); it cannot resume, so a killed run starts over."""
    output:
        f"{RUNS}/{{peer}}/{{game}}/s{{seed}}/summary.json",
    log:
        f"{RUNS}/{{peer}}/{{game}}/s{{seed}}/train.log",
    params:
        python=PYTHON,
        run_dir=lambda wildcards, output: os.path.dirname(output[0]),
        frames=config["frames"],
    wildcard_constraints:
        peer=wildcard_choices(PEER_LABELS),
        game=wildcard_choices(all_games()),
        seed=r"\d+",
    threads: config["train_threads"]
    conda:
        ENV
    resources:
        mem_mb=config["train_mem_mb"],
        runtime=config["train_runtime_min"],
    shell:
        "OMP_NUM_THREADS={threads} {params.python} -m agents peer {wildcards.peer} "
        "--game {wildcards.game} --seed {wildcards.seed} --frames {params.frames} "
        "--out {params.run_dir} > {log} 2>&1"


rule peer_reports:
    """Table 1, Figure 8, the score claims and the rliable aggregate with the peers as rows beside
    the config's agents (the aggregate normalised as the main one, by our random and DDQN)."""
    input:
        train_outputs(),
        peer_outputs(),
    output:
        multiext(f"{REPORTS}/peers/table1", ".csv", ".md", ".tex"),
        multiext(f"{REPORTS}/peers/figure8", ".png", ".pdf"),
        multiext(f"{REPORTS}/peers/claims", ".csv", ".md", ".tex"),
        multiext(f"{REPORTS}/peers/aggregate", ".csv", ".md", ".tex", ".png", ".pdf"),
    log:
        f"{REPORTS}/logs/peers.log",
    params:
        python=PYTHON,
        runs=runs_root,
        folder=lambda wildcards, output: os.path.dirname(output[0]),
        selection=PEER_SELECTION,
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
