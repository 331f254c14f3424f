rule train:
    """One training run; rerunning a killed job resumes from the run's checkpoint."""
    output:
        f"{RUNS}/{{agent}}/{{game}}/s{{seed}}/summary.json",
    log:
        f"{RUNS}/{{agent}}/{{game}}/s{{seed}}/train.log",
    params:
        python=PYTHON,
        run_dir=lambda wildcards, output: os.path.dirname(output[0]),
        frames=config["frames"],
        preset=lambda wildcards: preset_of(wildcards.agent),
        overrides=overrides,
    wildcard_constraints:
        agent=wildcard_choices(AGENTS),  # the registry's agents
        game=wildcard_choices(all_games()),  # every suite's games, MinAtar-* included
        seed=r"\d+",
    threads: config["train_threads"]
    conda:
        ENV
    resources:
        mem_mb=config["train_mem_mb"],
        runtime=config["train_runtime_min"],
    shell:
        "OMP_NUM_THREADS={threads} {params.python} -m agents train --agent {wildcards.agent} "
        "--game {wildcards.game} --seed {wildcards.seed} --frames {params.frames} "
        "--preset {params.preset} {params.overrides} --out {params.run_dir} --no-progress "
        "> {log} 2>&1"


rule train_variant:
    """An i-DQN variant run for Table 2 (AE / VAE / Dense VAE, colour or gray)."""
    output:
        f"{RUNS}/table2/{{variant}}-{{input}}/summary.json",
    log:
        f"{RUNS}/table2/{{variant}}-{{input}}/train.log",
    params:
        python=PYTHON,
        run_dir=lambda wildcards, output: os.path.dirname(output[0]),
        game=config["table2"]["game"],
        seed=config["table2"]["seed"],
        frames=config["table2"]["frames"],
        preset=preset_of("idqn"),
        overrides=variant_overrides,
    wildcard_constraints:
        input=wildcard_choices(table2_inputs()),
    threads: config["train_threads"]
    resources:
        mem_mb=config["train_mem_mb"],
        runtime=config["train_runtime_min"],
    conda:
        ENV
    shell:
        "OMP_NUM_THREADS={threads} {params.python} -m agents train --agent idqn --game {params.game} "
        "--seed {params.seed} --frames {params.frames} --preset {params.preset} {params.overrides} "
        "--out {params.run_dir} --no-progress > {log} 2>&1"
