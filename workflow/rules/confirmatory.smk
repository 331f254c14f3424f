# The confirmatory MinAtar study (config/confirmatory.yaml, pre-registered in
# docs/preregistration.md); its functions are in common.smk. Without config `confirmatory` the
# rules match nothing and `confirmatory_runs` is empty.


rule confirmatory_runs:
    """Every pre-registered run of the confirmatory study (none without config confirmatory)."""
    input:
        confirmatory_outputs(),


rule confirmatory_report:
    """The study's tables, verdicts and figures (docs/preregistration.md, "Analysis")."""
    input:
        confirmatory_outputs(),
    output:
        # Amendment 15: which groups of claims the report reads (all, once every run is in).
        multiext(f"{CONFIRMATORY_REPORTS}/reading", ".csv", ".md"),
        multiext(f"{CONFIRMATORY_REPORTS}/runs", ".csv", ".md"),
        multiext(f"{CONFIRMATORY_REPORTS}/main", ".csv", ".md"),
        report(f"{CONFIRMATORY_REPORTS}/verdicts.csv", category="Confirmatory study"),
        f"{CONFIRMATORY_REPORTS}/verdicts.md",
        report(f"{CONFIRMATORY_REPORTS}/verdicts.png", category="Confirmatory study"),
        report(f"{CONFIRMATORY_REPORTS}/curves.png", category="Confirmatory study"),
        report(f"{CONFIRMATORY_REPORTS}/aggregate.png", category="Confirmatory study"),
        # Amendment 5's tests of the attention agent (Mott et al.'s claim is in verdicts).
        multiext(f"{CONFIRMATORY_REPORTS}/attention-ac-lambda", ".csv", ".md"),
        multiext(f"{CONFIRMATORY_REPORTS}/attention-above-random", ".csv", ".md"),
        report(f"{CONFIRMATORY_REPORTS}/attention-curves.png", category="Confirmatory study"),
        # Amendment 1's tests and where agents look (agents/confirmatory_interpret.py).
        multiext(f"{CONFIRMATORY_REPORTS}/interpret/verdicts", ".csv", ".md", ".png"),
        multiext(f"{CONFIRMATORY_REPORTS}/interpret/table2", ".csv", ".md"),
        multiext(f"{CONFIRMATORY_REPORTS}/interpret/runs", ".csv", ".md"),
        multiext(f"{CONFIRMATORY_REPORTS}/interpret/grounding", ".csv", ".md", ".png"),
        f"{CONFIRMATORY_REPORTS}/interpret/grounding-maps.png",
        # Every verdict on one page, quoted from the tables above (agents/confirmatory_summary.py).
        f"{CONFIRMATORY_REPORTS}/summary.md",
    log:
        f"{CONFIRMATORY_REPORTS}/logs/report.log",
    params:
        python=PYTHON,
        configs=" ".join(map(str, workflow.overwrite_configfiles)),
    conda:
        ENV
    shell:
        "{params.python} -m agents confirmatory --no-progress --config {params.configs} "
        f"--out {CONFIRMATORY_REPORTS} > {{log}} 2>&1"


# Amendment 7: seed 0's attention strip and GIF per game (agents.runtable.attention_showcase).
SHOWCASE = attention_showcase(config)
VIDEO_STEPS = f"--max-steps {config['attention_video_steps']}" if "attention_video_steps" in config else ""


rule confirmatory_attention_strip:
    """Seed 0's attention over eight steps of an episode, and the chosen action's saliency
    (Mott et al.'s Fig 3), on one game."""
    input:
        lambda wildcards: f"{SHOWCASE[wildcards.game]}/summary.json",
    output:
        report(f"{CONFIRMATORY_REPORTS}/attention/{{game}}-strip.png", category="Confirmatory study", subcategory="Attention agent"),
        f"{CONFIRMATORY_REPORTS}/attention/{{game}}-strip.pdf",
    wildcard_constraints:
        game=wildcard_choices(SHOWCASE),
    log:
        f"{CONFIRMATORY_REPORTS}/logs/attention-strip-{{game}}.log",
    params:
        python=PYTHON,
        run=lambda wildcards: SHOWCASE[wildcards.game],
        stem=lambda wildcards, output: os.path.splitext(output[0])[0],
    conda:
        ENV
    shell:
        "{params.python} -m agents interpret attention-strip --run {params.run} --out {params.stem} > {log} 2>&1"


rule confirmatory_attention_video:
    """Seed 0's attention over an episode as a GIF, on one game (git-ignored: rebuilt from the
    committed weights), as long as config attention_video_steps says (the CLI's default without)."""
    input:
        lambda wildcards: f"{SHOWCASE[wildcards.game]}/summary.json",
    output:
        f"{CONFIRMATORY_REPORTS}/attention/{{game}}-video.gif",
    wildcard_constraints:
        game=wildcard_choices(SHOWCASE),
    log:
        f"{CONFIRMATORY_REPORTS}/logs/attention-video-{{game}}.log",
    params:
        python=PYTHON,
        run=lambda wildcards: SHOWCASE[wildcards.game],
        steps=VIDEO_STEPS,
        stem=lambda wildcards, output: os.path.splitext(output[0])[0],
    conda:
        ENV
    shell:
        "{params.python} -m agents interpret attention-video --run {params.run} {params.steps} "
        "--out {params.stem} > {log} 2>&1"


rule confirmatory:
    """The confirmatory study: its runs (those not committed yet), then its report."""
    input:
        rules.confirmatory_report.output,
        expand(rules.confirmatory_attention_strip.output, game=SHOWCASE),
        expand(rules.confirmatory_attention_video.output, game=SHOWCASE),
