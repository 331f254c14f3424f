# The studies of i-DQN's loss design (agents/studies.py): the loss ablation of Fig 9a with the
# diversity study of Figs 9b/c (config `ablations`), and the sensitivity study (config
# `sensitivity`). Each setting is a list of --set items on top of presets.idqn; its runs go to
# RUNS/<study>/<setting>/<game>/s<seed>/. Targets `ablations` and `sensitivity`, both in `all`.


rule train_setting:
    """One i-DQN run of a study setting; rerunning a killed job resumes from its checkpoint."""
    output:
        f"{RUNS}/{{study}}/{{setting}}/{{game}}/s{{seed}}/summary.json",
    log:
        f"{RUNS}/{{study}}/{{setting}}/{{game}}/s{{seed}}/train.log",
    params:
        python=PYTHON,
        run_dir=lambda wildcards, output: os.path.dirname(output[0]),
        frames=lambda wildcards: config[wildcards.study]["frames"],
        preset=preset_of("idqn"),
        overrides=study_overrides,
    wildcard_constraints:
        study="|".join(STUDIES),
        setting=r"[A-Za-z0-9][A-Za-z0-9_.+-]*",
        game=wildcard_choices(all_games()),
        seed=r"\d+",
    threads: config["train_threads"]
    resources:
        mem_mb=config["train_mem_mb"],
        runtime=config["train_runtime_min"],
    conda:
        ENV
    shell:
        "OMP_NUM_THREADS={threads} {params.python} -m agents train --agent idqn "
        "--game {wildcards.game} --seed {wildcards.seed} --frames {params.frames} "
        "--preset {params.preset} {params.overrides} --out {params.run_dir} --no-progress "
        "> {log} 2>&1"


rule study_ablation:
    """Fig 9a: training curves and the final/best table of every ablation setting."""
    input:
        study_outputs("ablations"),
    output:
        report(
            f"{REPORTS}/ablations/ablation.png",
            caption="../report/output.rst",
            category="Studies",
        ),
        multiext(f"{REPORTS}/ablations/ablation", ".pdf", ".csv", ".md", ".tex"),
    log:
        f"{REPORTS}/logs/ablation.log",
    params:
        python=PYTHON,
        selection=study_selection("ablations", list(config["ablations"]["settings"])),
        caption=lambda wildcards: STUDY_CAPTIONS["ablation"],
        stem=lambda wildcards, output: os.path.splitext(output[0])[0],
    conda:
        ENV
    shell:
        "{params.python} -m agents study ablation {params.selection} "
        "--out {params.stem} > {log} 2>&1"


rule study_diversity:
    """Figs 9b/c: attention spread with and without the diversity loss, table and heat-maps."""
    input:
        study_outputs("ablations", config["ablations"]["diversity"]),
    output:
        report(
            f"{REPORTS}/ablations/diversity.png",
            caption="../report/output.rst",
            category="Studies",
        ),
        multiext(f"{REPORTS}/ablations/diversity", ".pdf", ".csv", ".md", ".tex"),
    log:
        f"{REPORTS}/logs/diversity.log",
    params:
        python=PYTHON,
        selection=study_selection("ablations", config["ablations"]["diversity"]),
        states=config["ablations"]["diversity_states"],
        caption=lambda wildcards: STUDY_CAPTIONS["diversity"],
        stem=lambda wildcards, output: os.path.splitext(output[0])[0],
    conda:
        ENV
    shell:
        "{params.python} -m agents study diversity {params.selection} --states {params.states} "
        "--out {params.stem} > {log} 2>&1"


rule study_sensitivity:
    """The sensitivity table: our score and drop per setting beside the paper's."""
    input:
        study_outputs("sensitivity"),
        reference=SENSITIVITY_REFERENCE,
    output:
        report(
            f"{REPORTS}/sensitivity/sensitivity.csv",
            caption="../report/output.rst",
            category="Studies",
        ),
        multiext(f"{REPORTS}/sensitivity/sensitivity", ".md", ".tex"),
    log:
        f"{REPORTS}/logs/sensitivity.log",
    params:
        python=PYTHON,
        selection=study_selection("sensitivity", list(config["sensitivity"]["settings"])),
        default=config["sensitivity"]["default"],
        caption=lambda wildcards: STUDY_CAPTIONS["sensitivity"],
        stem=lambda wildcards, output: os.path.splitext(output[0])[0],
    conda:
        ENV
    shell:
        "{params.python} -m agents study sensitivity {params.selection} --default {params.default} "
        "--reference {input.reference} --out {params.stem} > {log} 2>&1"


rule ablations:
    """The loss ablation (Fig 9a) and the diversity study (Figs 9b/c)."""
    input:
        study_reports()["ablations"],


rule sensitivity:
    """The sensitivity study."""
    input:
        study_reports()["sensitivity"],
