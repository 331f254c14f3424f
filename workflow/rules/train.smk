# The one training rule: every run of the run table (agents/runtable.py) — the main grid, the
# peers, Table 2's variants, the studies' settings and the confirmatory arms — is trained by the
# command its row makes. Defined once per kind of job: "train" trains one run (rerunning a killed
# job resumes it from its checkpoint; a peer, which cannot resume, starts over); with config
# `lockstep`, "train_lockstep_s<seeds>" trains those unfinished seeds of a cell in one process
# (`agents train --seeds`), each still into its own run directory with its own summary.json.
for train_rule, seeds, constraint in training_rules():

    rule:
        name:
            train_rule
        output:
            [f"{{run}}/summary.json"] if seeds is None else [f"{{run}}/s{seed}/summary.json" for seed in seeds],
        log:
            "{run}/train.log" if seeds is None else f"{{run}}/train-s{'-'.join(map(str, seeds))}.log",
        params:
            command=training_command,
        wildcard_constraints:
            run=constraint,
        threads: config["train_threads"]
        conda:
            ENV
        resources:
            mem_mb=config["train_mem_mb"],
            runtime=config["train_runtime_min"],
        shell:
            "OMP_NUM_THREADS={threads} {params.command} > {log} 2>&1"
