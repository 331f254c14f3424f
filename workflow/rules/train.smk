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
        preset=lambda wildcards: config["presets"].get(wildcards.agent, "paper"),
        overrides=overrides,
    wildcard_constraints:
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
